package bitrix_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// TestEventMethods: on an inbound webhook event.get/bind/unbind are refused
// as needing an application (NeedsApplication, a configuration error); in
// an application's context binding works, twice is still one binding, and
// unbinding counts.
func TestEventMethods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	c, err := bitrix.New(srv.WebhookURL())
	if err != nil {
		t.Fatal(err)
	}
	const h = "https://crmsync.example.com/hooks/bitrix"
	_, err = c.EventHandlers(ctx)
	if !bitrix.NeedsApplication(err) || !errors.Is(err, bitrix.ErrAuth) || bitrix.Classify(err) != bitrix.ClassConfig {
		t.Fatalf("event.get on a webhook: %v", err)
	}
	if err := c.BindEvent(ctx, bitrix.EventDealUpdate, h); !bitrix.NeedsApplication(err) {
		t.Fatalf("event.bind on a webhook: %v", err)
	}
	if bitrix.NeedsApplication(errors.New("WRONG_AUTH_TYPE")) || bitrix.NeedsApplication(nil) {
		t.Error("NeedsApplication of a plain error")
	}

	srv.ActAsApplication("apptoken0123")
	for range 2 {
		if err := c.BindEvent(ctx, bitrix.EventDealUpdate, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.BindEvent(ctx, "ONCRMNOSUCHEVENT", h); err == nil || bitrix.Classify(err) != bitrix.ClassPermanent {
		t.Errorf("unknown event: %v", err)
	}
	got, err := c.EventHandlers(ctx)
	if err != nil || len(got) != 1 || got[0].Event != bitrix.EventDealUpdate || got[0].Handler != h || got[0].AuthType != 0 {
		t.Fatalf("event.get: %+v %v", got, err)
	}
	if n, err := c.UnbindEvent(ctx, bitrix.EventDealUpdate, h); err != nil || n != 1 {
		t.Errorf("event.unbind: %d %v", n, err)
	}
	if got, err := c.EventHandlers(ctx); err != nil || len(got) != 0 {
		t.Errorf("after unbind: %+v %v", got, err)
	}
}
