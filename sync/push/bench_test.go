package push_test

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/sync/push"
)

// BenchmarkPushRequestsPerChange measures the requests one push run makes
// per change written: 200 linked deals, each commented on by crmsync (as
// pull does) and read by a push before, then moved to a mapped stage and
// commented on by a person, i.e. 400 changes (200 statuses, 200 comment
// appends). Reported as retailcrm-req/change and bitrix-req/change.
func BenchmarkPushRequestsPerChange(b *testing.B) {
	const deals = 200
	var rcReq, bxReq, changes int
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b)
		ids := make([]int64, 0, deals)
		for range deals {
			o, d := h.linked("new", "NEW")
			h.ownComment(o, d, "Status changed: new → approval")
			ids = append(ids, d)
		}
		h.push(push.Options{})
		h.clk.Advance(2 * time.Minute)
		for _, d := range ids {
			if err := h.bx.MoveDeal(d, "WON", 7); err != nil {
				b.Fatal(err)
			}
			h.bx.AddComment("deal", d, 7, "Called the client")
		}
		rc0, bx0 := h.rc.TotalRequests(), h.bx.Stats().Requests
		b.StartTimer()
		rep := h.push(push.Options{})
		b.StopTimer()
		rcReq += h.rc.TotalRequests() - rc0
		bxReq += h.bx.Stats().Requests - bx0
		changes += len(rep.Changes)
		if rep.Summary.StatusesPushed != deals || rep.Summary.CommentsPushed != deals {
			b.Fatalf("summary %+v", rep.Summary)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rcReq)/float64(changes), "retailcrm-req/change")
	b.ReportMetric(float64(bxReq)/float64(changes), "bitrix-req/change")
}
