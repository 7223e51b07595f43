package sync

import (
	"context"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
)

// The portal keeps a comment with its whitespace changed (line ends as
// \n, no trailing spaces): a comment whose answer was lost is still found
// on the timeline, not written twice.
func TestLostCommentIsFoundDespitePortalWhitespace(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	e.pull()
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment = "Call first\r\nthen ship  " })
	lost := &lostAnswers{Bitrix: e.bxc, method: "crm.timeline.comment.add", lose: 1}
	e.pull(func(op *Options) { op.Bitrix = lost })
	if lost.lose != 0 {
		t.Fatal("no batch of comments lost its answer")
	}
	n := 0
	for _, c := range e.bx.Comments() {
		n += strings.Count(c.Comment, "then ship")
	}
	if n != 1 {
		t.Errorf("the manager comment is on the timeline %d times, want once: %+v", n, e.bx.Comments())
	}
}

// A comment of the deal whose id the ledger gives to an earlier write of
// the same text is not taken for a write whose answer was lost: that write
// did not happen and is sent again.
func TestLostCommentIsNotMistakenForAnEarlierOneWithItsText(t *testing.T) {
	e := newEnv(t)
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	e.pull()
	deal := e.bx.Deals()[0]
	const text = "Return registered for order 1"
	earlier := e.bx.AddComment("deal", deal.ID, 1, text)
	eng, st := e.engine(false)
	e.addCommentToLedger(st, deal.ID, text, earlier)
	cmds := map[string]bitrix.Cmd{
		"a": bitrix.TimelineCommentAddCmd(bitrix.TimelineDeal, bitrix.ID(deal.ID), text),
		"b": bitrix.TimelineCommentAddCmd(bitrix.TimelineDeal, bitrix.ID(deal.ID), "Packed\r\n"),
		"c": bitrix.TimelineCommentAddCmd(bitrix.TimelineDeal, bitrix.ID(deal.ID), "Packed"),
	}
	packed := e.bx.AddComment("deal", deal.ID, 1, "Packed")
	found, err := eng.resolveComments(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := found["a"]; ok {
		t.Errorf("the earlier comment %d (in the ledger) was taken for the lost one: %s", earlier, found["a"])
	}
	// One comment "Packed" answers for one of the two writes, not both.
	got := 0
	for _, k := range []string{"b", "c"} {
		if string(found[k]) == bitrix.ID(packed).String() {
			got++
		}
	}
	if got != 1 || len(found) != 1 {
		t.Errorf("found %v, want one of b and c resolved to %d", found, packed)
	}
}
