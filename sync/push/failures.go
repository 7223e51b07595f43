package push

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/crmsync/crmsync/store"
)

// Failure kinds push records; the key is the order id.
const (
	KindStage   = "stage"
	KindComment = "comment"
)

// stagePayload is what a retry of a stage push needs.
type stagePayload struct {
	DealID int64  `json:"deal_id"`
	Stage  string `json:"stage"`
	At     string `json:"at"` // the stage-history row's CREATED_TIME
}

// commentPayload holds the lines still to append to an order.
type commentPayload struct {
	DealID int64    `json:"deal_id"`
	Lines  []string `json:"lines"`
}

// dueFailures loads the failures due for another attempt, and the lines of
// parked comment failures (a new comment on the deal retries them too).
func (r *run) dueFailures(ctx context.Context) (stages map[int64]stagePayload, comments map[int64]commentPayload, err error) {
	stages, comments = map[int64]stagePayload{}, map[int64]commentPayload{}
	due, err := r.st.Failures(ctx, store.FailureFilter{Due: r.now()})
	if err != nil {
		return nil, nil, err
	}
	for _, f := range due {
		id, perr := strconv.ParseInt(f.Key, 10, 64)
		if perr != nil {
			continue // not ours: push keys are order ids
		}
		if f.Kind == KindStage || f.Kind == KindComment {
			r.retrying[f.Kind+":"+f.Key] = true
		}
		switch f.Kind {
		case KindStage:
			var p stagePayload
			if json.Unmarshal([]byte(f.Payload), &p) == nil && p.DealID > 0 && p.Stage != "" {
				stages[id] = p
			}
		case KindComment:
			var p commentPayload
			if json.Unmarshal([]byte(f.Payload), &p) == nil && p.DealID > 0 {
				comments[id] = p
			}
		}
	}
	r.rep.Summary.Retried = len(stages) + len(comments)
	return stages, comments, nil
}

// waitingCommentLines returns the lines of a comment failure of the order that
// is waiting (parked or not yet due), so they go with the next append.
func (r *run) waitingCommentLines(ctx context.Context, orderID int64) ([]string, error) {
	f, ok, err := r.st.Failure(ctx, KindComment, strconv.FormatInt(orderID, 10))
	if err != nil || !ok || f.Skipped {
		return nil, err
	}
	var p commentPayload
	if json.Unmarshal([]byte(f.Payload), &p) != nil {
		return nil, nil
	}
	return p.Lines, nil
}

// failItem records a failed write of one order. A validation error or a
// missing order parks the item at once; a transient error is retried with
// backoff and parked after MaxAttempts; any other error (authentication,
// the connection, the context) stops the run and is returned. extra runs
// in the same transaction (e.g. to move a comment cursor).
func (r *run) failItem(ctx context.Context, kind string, orderID, dealID int64, payload any, cause error, extra func(*store.Tx) error) error {
	attempts := r.opts.MaxAttempts
	switch {
	case isPermanent(cause):
		attempts = 1
	case isTransient(cause):
	default:
		return fmt.Errorf("order %d (deal %d): %w", orderID, dealID, cause)
	}
	reason := fmt.Sprintf("order %d (deal %d): %v", orderID, dealID, cause)
	pl, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("order %d: encoding retry payload: %w", orderID, err)
	}
	var parked, parkedNow bool
	err = r.st.Tx(ctx, func(tx *store.Tx) error {
		f, now, err := tx.RecordFailure(ctx, store.FailureReport{Kind: kind, Key: strconv.FormatInt(orderID, 10),
			Error: reason, Payload: string(pl), MaxAttempts: attempts})
		if err != nil {
			return err
		}
		parked, parkedNow = f.Parked, now
		action := kind + ".push"
		if _, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceBitrix, SourceID: "deal " + strconv.FormatInt(dealID, 10),
			OrderID: orderID, Action: action, Result: store.ResultFailed, Message: reason}); err != nil {
			return err
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if parked {
		item := ParkedItem{Kind: kind, OrderID: orderID, DealID: dealID, Reason: reason}
		r.rep.Parked = append(r.rep.Parked, item)
		if parkedNow {
			r.newlyParked = append(r.newlyParked, item)
		}
		r.rep.Summary.Parked++
		r.rep.Summary.OutOfAttempts++
		r.log.Warn("item parked", "kind", kind, "order", orderID, "deal", dealID, "reason", reason)
	} else {
		r.rep.Summary.Failed++
		r.rep.Summary.WaitingForRetry++
		r.log.Warn("item failed; retried later", "kind", kind, "order", orderID, "deal", dealID, "reason", reason)
	}
	return nil
}
