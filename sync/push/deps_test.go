package push_test

import (
	"testing"

	"github.com/crmsync/crmsync/sync/push"
)

func TestWebhookUserID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"https://p.bitrix24.ru/rest/17/abc123/": 17,
		"http://127.0.0.1:4000/rest/1/x/":       1,
		"https://p.bitrix24.ru/hook/1/x/":       0,
		"https://p.bitrix24.ru/rest/x/y/":       0,
		"::":                                    0,
	} {
		if got := push.WebhookUserID(in); got != want {
			t.Errorf("WebhookUserID(%q) = %d, want %d", in, got, want)
		}
	}
}
