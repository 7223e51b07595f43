package bitrix_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
)

// BenchmarkClientCall measures the client's own overhead per call (encode,
// limiter, send over loopback, decode) against a server that answers at once.
func BenchmarkClientCall(b *testing.B) {
	body := []byte(`{"result":[{"ID":"1","TITLE":"Order 1","OPPORTUNITY":"10.00"}],"total":1,"time":{"start":1,"finish":1,"operating":0,"operating_reset_at":1}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, err := bitrix.New(srv.URL+"/rest/1/benchsecret/", bitrix.WithRate(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := bitrix.ListRequest{Filter: map[string]any{"@ORIGIN_ID": []string{"1", "2"}}, Select: []string{"ID", "TITLE"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.List(ctx, bitrix.EntityDeal, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchBuild50 measures building, encoding and planning a full
// batch of 50 deal upserts (no network).
func BenchmarkBatchBuild50(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		bt := bitrix.NewBatch(true)
		for i := range 50 {
			_ = bt.Add(fmt.Sprintf("d%d", i), bitrix.UpdateCmd(bitrix.EntityDeal, bitrix.ID(i+1), bitrix.Fields{
				"TITLE": fmt.Sprintf("Order %d", i), "STAGE_ID": "NEW", "OPPORTUNITY": 1890.5, "UF_CRM_DELIVERY": "courier & co"}, nil))
		}
		for _, k := range bt.Keys() {
			cmd, _ := bt.Cmd(k)
			if _, err := cmd.Query(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
