package bitrix_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

func mustAdd(t *testing.T, b *bitrix.Batch, key string, cmd bitrix.Cmd) {
	t.Helper()
	if err := b.Add(key, cmd); err != nil {
		t.Fatal(err)
	}
}

func TestBatchReferencesAndOrder(t *testing.T) {
	ctx, p := parallelPair(t)
	b := bitrix.NewBatch(true)
	mustAdd(t, b, "c0", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": "Anna & Co", "EMAIL": []any{bitrix.NewMultifield("anna+1@example.com", "WORK")}}, nil))
	mustAdd(t, b, "d1042", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "Order #1042 50% off", "CONTACT_IDS": []any{bitrix.ResultRef("c0")}, "ORIGIN_ID": "1042"}, nil))
	mustAdd(t, b, "m1042", bitrix.TimelineCommentAddCmd(bitrix.TimelineDeal, 0, "Status: new → paid"))
	// Point the comment at the new deal through a reference.
	cmd, _ := b.Cmd("m1042")
	cmd.Params["fields"].(map[string]any)["ENTITY_ID"] = bitrix.ResultRef("d1042")
	mustAdd(t, b, "g", bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{"@ORIGIN_ID": []string{"1042"}}, Select: []string{"ID", "CONTACT_ID"}}))
	mustAdd(t, b, "g2", bitrix.GetCmd(bitrix.EntityDeal, 0))
	cmd, _ = b.Cmd("g2")
	cmd.Params["id"] = bitrix.ResultRef("g", 0, "ID")
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range b.Keys() {
		if st := res.Get(k).Status; st != bitrix.Done {
			t.Fatalf("%s: %s %v", k, st, res.Get(k).Err)
		}
	}
	cid, _ := bitrix.DecodeID(res.Get("c0").Result)
	did, _ := bitrix.DecodeID(res.Get("d1042").Result)
	deal, _ := p.srv.Deal(int64(did))
	if deal.Str("CONTACT_ID") != cid.String() || deal.Str("TITLE") != "Order #1042 50% off" {
		t.Fatalf("deal %v", deal.Fields)
	}
	contact, _ := p.srv.Contact(int64(cid))
	if contact.Str("NAME") != "Anna & Co" || contact.Values("EMAIL")[0] != "anna+1@example.com" {
		t.Fatalf("contact %v", contact)
	}
	cs := p.srv.Comments()
	if len(cs) != 1 || cs[0].EntityID != int64(did) || cs[0].Comment != "Status: new → paid" {
		t.Fatalf("comments %+v", cs)
	}
	rows, _ := bitrix.DecodeRows(res.Get("g").Result)
	if len(rows) != 1 || res.Get("g").Total != 1 {
		t.Fatalf("list %v", rows)
	}
	var got bitrix.Record
	if err := res.Get("g2").Decode(&got); err != nil || got.ID() != did {
		t.Fatalf("g2 %v %v", got, err)
	}
	if st := p.srv.Stats(); st.PerMethod["batch"] != 1 || st.BatchCommands != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBatchPerCommandErrorsHalt0(t *testing.T) {
	ctx, p := parallelPair(t)
	b := bitrix.NewBatch(false)
	mustAdd(t, b, "bad", bitrix.GetCmd(bitrix.EntityDeal, 777))
	mustAdd(t, b, "ok", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "fine"}, nil))
	mustAdd(t, b, "task", bitrix.TaskAddCmd(bitrix.Fields{"RESPONSIBLE_ID": 1}))
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Get("bad"); r.Status != bitrix.Failed || !errors.Is(r.Err, bitrix.ErrNotFound) {
		t.Fatalf("bad: %s %v", r.Status, r.Err)
	}
	if r := res.Get("ok"); r.Status != bitrix.Done {
		t.Fatalf("ok: %s", r.Status)
	}
	if r := res.Get("task"); r.Status != bitrix.Failed || !errors.Is(r.Err, bitrix.ErrBadRequest) {
		t.Fatalf("task: %s %v", r.Status, r.Err)
	}
}

func TestBatchHaltStopsAndRemainingResends(t *testing.T) {
	ctx, p := parallelPair(t)
	b := bitrix.NewBatch(true)
	mustAdd(t, b, "a", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "a"}, nil))
	mustAdd(t, b, "boom", bitrix.UpdateCmd(bitrix.EntityDeal, 999, bitrix.Fields{"TITLE": "x"}, nil))
	mustAdd(t, b, "c", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "c"}, nil))
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Get("a").Status != bitrix.Done || res.Get("boom").Status != bitrix.Failed || res.Get("c").Status != bitrix.NotExecuted {
		t.Fatalf("statuses %s %s %s", res.Get("a").Status, res.Get("boom").Status, res.Get("c").Status)
	}
	if n := len(p.srv.Deals()); n != 1 {
		t.Fatalf("deals %d", n)
	}
	rest := res.Remaining()
	if rest.Len() != 1 || rest.Keys()[0] != "c" {
		t.Fatalf("remaining %v", rest.Keys())
	}
	res2, err := p.c.Batch(ctx, rest)
	if err != nil || res2.Get("c").Status != bitrix.Done || len(p.srv.Deals()) != 2 {
		t.Fatalf("resend: %v", err)
	}
}

func TestBatchFailedReferenceIsSubstitutedLiterally(t *testing.T) {
	ctx, p := parallelPair(t)
	b := bitrix.NewBatch(false) // the pitfall: no halt
	mustAdd(t, b, "c0", bitrix.GetCmd(bitrix.EntityDeal, 31337))
	mustAdd(t, b, "c1", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": bitrix.ResultRef("c0", "TITLE")}, nil))
	mustAdd(t, b, "l", bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{"ID": 31337}}))
	mustAdd(t, b, "c2", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": bitrix.ResultRef("l", 0, "TITLE")}, nil))
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Get("c1").Status != bitrix.Done || res.Get("c2").Status != bitrix.Done {
		t.Fatal("dependent commands should run with garbage")
	}
	deals := p.srv.Deals()
	if len(deals) != 2 || deals[0].Str("TITLE") != "$result[c0][TITLE]" || deals[1].Str("TITLE") != "$result[l][0][TITLE]" {
		t.Fatalf("titles %q %q", deals[0].Str("TITLE"), deals[1].Str("TITLE"))
	}
}

func TestBatchSplitting(t *testing.T) {
	ctx, p := parallelPair(t)
	b := bitrix.NewBatch(false)
	for i := range 120 {
		mustAdd(t, b, fmt.Sprintf("d%d", i), bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": fmt.Sprint(i), "ORIGIN_ID": fmt.Sprint(i)}, nil))
	}
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || len(res.ByStatus(bitrix.Done)) != 120 {
		t.Fatalf("requests %d done %d", res.Requests, len(res.ByStatus(bitrix.Done)))
	}
	deals := p.srv.Deals()
	for i, d := range deals {
		if d.Str("ORIGIN_ID") != fmt.Sprint(i) {
			t.Fatalf("order broken at %d: %s", i, d.Str("ORIGIN_ID"))
		}
	}
	if st := p.srv.Stats(); st.PerMethod["batch"] != 3 || st.QueryLimit503 != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBatchChainsStayTogether(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{}, bitrix.WithMaxBatchCommands(4))
	ctx := context.Background()
	b := bitrix.NewBatch(true)
	for i := range 5 {
		mustAdd(t, b, fmt.Sprintf("c%d", i), bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": fmt.Sprint(i)}, nil))
		mustAdd(t, b, fmt.Sprintf("d%d", i), bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": fmt.Sprint(i), "CONTACT_ID": bitrix.ResultRef(fmt.Sprintf("c%d", i))}, nil))
	}
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 {
		t.Fatalf("requests %d", res.Requests)
	}
	for i := range 5 {
		cid, _ := bitrix.DecodeID(res.Get(fmt.Sprintf("c%d", i)).Result)
		did, _ := bitrix.DecodeID(res.Get(fmt.Sprintf("d%d", i)).Result)
		d, _ := p.srv.Deal(int64(did))
		if d.Str("CONTACT_ID") != cid.String() {
			t.Fatalf("chain %d broken: %v", i, d.Fields)
		}
	}
	// A chain longer than a batch cannot be split.
	long := bitrix.NewBatch(true)
	mustAdd(t, long, "root", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": "r"}, nil))
	for i := range 4 {
		mustAdd(t, long, fmt.Sprintf("x%d", i), bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"CONTACT_ID": bitrix.ResultRef("root")}, nil))
	}
	if _, err := p.c.Batch(ctx, long); !errors.Is(err, bitrix.ErrInvalidBatch) {
		t.Fatalf("long chain: %v", err)
	}
	bad := bitrix.NewBatch(true)
	mustAdd(t, bad, "a", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"CONTACT_ID": bitrix.ResultRef("later")}, nil))
	if _, err := p.c.Batch(ctx, bad); !errors.Is(err, bitrix.ErrInvalidBatch) {
		t.Fatalf("forward reference: %v", err)
	}
}

func TestBatchKeyRules(t *testing.T) {
	t.Parallel()
	b := bitrix.NewBatch(false)
	for _, k := range []string{"0", "12", "", "a[b]", "a b"} {
		if err := b.Add(k, bitrix.ScopeCmd()); !errors.Is(err, bitrix.ErrInvalidBatch) {
			t.Errorf("key %q accepted", k)
		}
	}
	if err := b.Add("x", bitrix.Cmd{Method: "batch"}); !errors.Is(err, bitrix.ErrInvalidBatch) {
		t.Error("nested batch accepted")
	}
	if err := b.Add("x", bitrix.ScopeCmd()); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("x", bitrix.ScopeCmd()); !errors.Is(err, bitrix.ErrInvalidBatch) {
		t.Error("duplicate accepted")
	}
}

func TestBatchNeverReplayedWhole(t *testing.T) {
	t.Parallel()
	for _, kind := range []bitrixtest.FaultKind{bitrixtest.FaultTruncated, bitrixtest.FaultDrop, bitrixtest.FaultServerError, bitrixtest.FaultInternalError, bitrixtest.FaultHTML200} {
		t.Run(kind.String(), func(t *testing.T) {
			ctx, p := parallelPair(t)
			p.srv.InjectFault(bitrixtest.Fault{Kind: kind, Method: "batch", Count: 1})
			b := bitrix.NewBatch(false)
			mustAdd(t, b, "r", bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{}))
			mustAdd(t, b, "w", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "once"}, nil))
			res, err := p.c.Batch(ctx, b)
			if !errors.Is(err, bitrix.ErrOutcomeUnknown) {
				t.Fatalf("err %v", err)
			}
			if res.Get("w").Status != bitrix.Unknown || res.Get("r").Status != bitrix.Unknown {
				t.Fatalf("status %s", res.Get("w").Status)
			}
			if n := p.srv.Stats().PerMethod["batch"]; n != 1 {
				t.Fatalf("batch sent %d times", n)
			}
			if res.Remaining().Len() != 0 {
				t.Fatal("unknown commands must not be offered for blind resend")
			}
		})
	}
}

func TestBatchOfReadsIsRetried(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	p.srv.SeedDeal(map[string]any{"TITLE": "x"})
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultTruncated, Method: "batch", Count: 2})
	b := bitrix.NewBatch(false)
	mustAdd(t, b, "r", bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{}))
	mustAdd(t, b, "s", bitrix.StatusListCmd(map[string]any{"ENTITY_ID": "DEAL_STAGE"}))
	res, err := p.c.Batch(context.Background(), b)
	if err != nil || res.Get("r").Status != bitrix.Done {
		t.Fatalf("%v", err)
	}
	if n := p.srv.Stats().PerMethod["batch"]; n != 3 {
		t.Fatalf("batch sent %d times, want 3", n)
	}
}

func TestFakeBatchLimits(t *testing.T) {
	ctx, p := parallelPair(t)
	cmd := map[string]any{}
	for i := range 51 {
		cmd[fmt.Sprintf("k%d", i)] = "scope"
	}
	_, err := p.c.Call(ctx, "crm.deal.list", nil, nil) // warm up
	if err != nil {
		t.Fatal(err)
	}
	raw := newRawCaller(t, p.srv)
	status, body := raw.postJSON("batch", map[string]any{"halt": 0, "cmd": cmd})
	if status != 400 || !strings.Contains(body, "ERROR_BATCH_LENGTH_EXCEEDED") {
		t.Fatalf("%d %s", status, body)
	}
	status, body = raw.postJSON("batch", map[string]any{"cmd": map[string]any{"a": "batch?cmd[x]=scope"}})
	if status != 405 || !strings.Contains(body, "ERROR_BATCH_METHOD_NOT_ALLOWED") {
		t.Fatalf("%d %s", status, body)
	}
	// Numeric keys give arrays, and empty sections are [].
	status, body = raw.postJSON("batch", map[string]any{"cmd": []any{"crm.deal.get?id=999", "crm.deal.get?id=998"}})
	if status != 200 || !strings.Contains(body, `"result":[]`) || !strings.Contains(body, `"result_error":[{`) || !strings.Contains(body, `"result_time":[]`) {
		t.Fatalf("%d %s", status, body)
	}
}

// Text that merely looks like a reference is data: it creates no dependency
// and does not stop the batch from being built.
func TestBatchTextLookingLikeReference(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	b := bitrix.NewBatch(false)
	mustAdd(t, b, "a", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"COMMENTS": "price is $result[zz] today"}, nil))
	res, err := p.c.Batch(context.Background(), b)
	if err != nil || res.Get("a").Status != bitrix.Done {
		t.Fatalf("%v", err)
	}
	if d := p.srv.Deals()[0]; d.Str("COMMENTS") != "price is $result[zz] today" {
		t.Fatalf("%q", d.Str("COMMENTS"))
	}
}

// TestBatchCommandMissingFromTheAnswer: an answer that accounts for a
// command in none of its sections ran the batch, so a write missing from it
// may have run: it is Unknown (looked up before it is sent again), never
// NotExecuted. Only a halt after a failed command explains an absent write;
// an absent read can always be sent again.
func TestBatchCommandMissingFromTheAnswer(t *testing.T) {
	t.Parallel()
	empty := `{"result":{"result":[],"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{"start":1}}`
	for _, tc := range []struct {
		name, body string
		halt       bool
		want       map[string]bitrix.CmdStatus
	}{
		{"all sections empty", empty, false,
			map[string]bitrix.CmdStatus{"w": bitrix.Unknown, "r": bitrix.NotExecuted, "u": bitrix.Unknown}},
		{"result is []", `{"result":[],"time":{"start":1}}`, false,
			map[string]bitrix.CmdStatus{"w": bitrix.Unknown, "r": bitrix.NotExecuted, "u": bitrix.Unknown}},
		{"halt, nothing failed", empty, true,
			map[string]bitrix.CmdStatus{"w": bitrix.Unknown, "r": bitrix.NotExecuted, "u": bitrix.Unknown}},
		{"one done, the others absent", `{"result":{"result":{"w":7},"result_error":[]}}`, false,
			map[string]bitrix.CmdStatus{"w": bitrix.Done, "r": bitrix.NotExecuted, "u": bitrix.Unknown}},
		{"halt after a failure", `{"result":{"result":[],"result_error":{"w":{"error":"","error_description":"Not found"}}}}`, true,
			map[string]bitrix.CmdStatus{"w": bitrix.Failed, "r": bitrix.NotExecuted, "u": bitrix.NotExecuted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := bitrix.New(srv.URL+"/rest/1/abcdef0123/", bitrix.WithRate(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			b := bitrix.NewBatch(tc.halt)
			mustAdd(t, b, "w", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": "once"}, nil))
			mustAdd(t, b, "r", bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{}))
			mustAdd(t, b, "u", bitrix.UpdateCmd(bitrix.EntityDeal, 5, bitrix.Fields{"TITLE": "x"}, nil))
			res, err := c.Batch(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := res.Get(k).Status; got != want {
					t.Errorf("%s: %s, want %s", k, got, want)
				}
				if got := res.Get(k); got.Status == bitrix.Unknown && !errors.Is(got.Err, bitrix.ErrOutcomeUnknown) {
					t.Errorf("%s: unknown with error %v", k, got.Err)
				}
			}
			for _, k := range res.Remaining().Keys() {
				if tc.want[k] != bitrix.NotExecuted {
					t.Errorf("%s offered for a blind resend", k)
				}
			}
		})
	}
}
