package main

import "testing"

// TestPushRightAfterABusyPull: on a 2 rps / 5 burst portal, a pull that
// leaves the portal's bucket about full and a push started right after it
// provoke no QUERY_LIMIT_EXCEEDED: the push starts from the level the pull
// stored, not from a full burst (which the portal has already spent).
func TestPushRightAfterABusyPull(t *testing.T) {
	t.Parallel()
	p := newSmallPortal(t)
	p.orders(0, 150)
	if n := p.step(t, "pull"); n < 5 {
		t.Fatalf("the pull sent %d Bitrix24 requests: too few to fill the burst of 5", n)
	}
	p.step(t, "push")
	if n := p.bx.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d × 503 QUERY_LIMIT_EXCEEDED across a back-to-back pull and push, want 0", n)
	}
}
