package store

import (
	"context"
	"time"
)

// RunsEndedSince returns the runs that ended at or after since, oldest
// first: what their counters say happened in that time. Runs still going
// have no counters yet and are left out. The runs table is pruned
// (Prune), so reading it whole stays cheap.
func (r *reader) RunsEndedSince(ctx context.Context, since time.Time) ([]Run, error) {
	return r.runs(ctx, `SELECT `+runCols+` FROM runs WHERE ended_at >= ? ORDER BY ended_at, id`, ms(since))
}
