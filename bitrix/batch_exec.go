package bitrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CmdStatus is the outcome of one batch command.
type CmdStatus int

const (
	// NotExecuted: the portal did not run it (halt stop, or its batch request
	// was refused). Safe to send again.
	NotExecuted CmdStatus = iota
	// Done: the command ran; Result holds its result.
	Done
	// Failed: the command ran and failed; Err is an *APIError.
	Failed
	// Unknown: the batch request's answer was lost; a write may have run.
	Unknown
)

func (s CmdStatus) String() string {
	switch s {
	case Done:
		return "done"
	case Failed:
		return "failed"
	case Unknown:
		return "unknown"
	}
	return "not executed"
}

// CmdResult is one command's outcome.
type CmdResult struct {
	Key     string
	Cmd     Cmd
	Status  CmdStatus
	Result  json.RawMessage
	Err     error // *APIError when Failed; the request's error when Unknown or refused
	Total   int
	Next    int
	HasNext bool
	Time    *Time
}

// Decode decodes a Done command's result into v.
func (r *CmdResult) Decode(v any) error {
	if r.Status != Done {
		return fmt.Errorf("bitrix: batch command %q %s: %w", r.Key, r.Status, r.errOrDefault())
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("%w: batch command %q: %w", ErrBadResponse, r.Key, err)
	}
	return nil
}

func (r *CmdResult) errOrDefault() error {
	if r.Err != nil {
		return r.Err
	}
	return errNotExecuted
}

var errNotExecuted = errors.New("bitrix: command not executed")

// errNotInAnswer: the batch's answer names the command in none of its
// sections.
var errNotInAnswer = errors.New("the batch answer does not mention the command")

// BatchResult holds every command's outcome, in insertion order.
type BatchResult struct {
	Keys     []string
	Results  map[string]*CmdResult
	Requests int // batch HTTP requests made
	halt     bool
}

// Get returns the outcome of key (nil if unknown key).
func (r *BatchResult) Get(key string) *CmdResult { return r.Results[key] }

// ByStatus returns the outcomes with status s, in order.
func (r *BatchResult) ByStatus(s CmdStatus) []*CmdResult {
	var out []*CmdResult
	for _, k := range r.Keys {
		if cr := r.Results[k]; cr.Status == s {
			out = append(out, cr)
		}
	}
	return out
}

// Remaining returns a batch of the commands that were not executed, safe to
// send as they are. Failed and Unknown commands are left to the caller.
func (r *BatchResult) Remaining() *Batch {
	b := NewBatch(r.halt)
	for _, cr := range r.ByStatus(NotExecuted) {
		b.keys = append(b.keys, cr.Key)
		b.cmds[cr.Key] = cr.Cmd
	}
	return b
}

// Batch runs the batch in as few requests as possible (≤ 50 commands each;
// see WithMaxBatchCommands). The result holds every command's outcome even
// when an error is returned; the error reports a request that failed as a
// whole (ErrOutcomeUnknown, ErrOverload, ErrAuth, context...), or a command
// refused for a reason every call of its method shares (a method or scope
// missing on the portal: ErrMethodNotFound, ErrAuth), after which no further
// request is sent. Other per-command failures are not errors: inspect the
// result. Nothing is ever replayed.
func (c *Client) Batch(ctx context.Context, b *Batch) (*BatchResult, error) {
	chunks, queries, err := b.plan(c.maxBatch)
	if err != nil {
		return nil, err
	}
	res := &BatchResult{Keys: b.Keys(), Results: make(map[string]*CmdResult, len(b.keys)), halt: b.Halt}
	for _, k := range b.keys {
		res.Results[k] = &CmdResult{Key: k, Cmd: b.cmds[k]}
	}
	for _, chunk := range chunks {
		res.Requests++
		stop, err := c.runChunk(ctx, b.Halt, chunk, queries, res)
		if err != nil {
			return res, err
		}
		if err := portalWideFailure(chunk, res); err != nil {
			return res, err
		}
		if stop {
			break
		}
	}
	return res, nil
}

// runChunk sends one batch request and fills in its commands' outcomes. It
// reports whether a halt stop (or a failure) ends the batch.
func (c *Client) runChunk(ctx context.Context, halt bool, keys []string, queries map[string]string, res *BatchResult) (bool, error) {
	read := true
	methods := make([]string, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		m := res.Results[k].Cmd.Method
		if !IsReadMethod(m) {
			read = false
		}
		if !seen[m] {
			seen[m] = true
			methods = append(methods, m)
		}
	}
	body := encodeBatchBody(halt, keys, queries)
	resp, err := c.do(ctx, "batch", body, read, methods)
	if err == nil {
		var secs *BatchSections
		secs, err = DecodeBatchResult(resp.Result)
		if err == nil {
			return c.fillChunk(halt, keys, secs, res), nil
		}
		if !read {
			err = &OutcomeUnknownError{Method: "batch", Err: err}
		}
	}
	status := NotExecuted
	if errors.Is(err, ErrOutcomeUnknown) {
		status = Unknown
	}
	for _, k := range keys {
		cr := res.Results[k]
		cr.Status, cr.Err = status, err
	}
	return true, fmt.Errorf("bitrix: batch of %d commands (%s…): %w", len(keys), keys[0], err)
}

func (c *Client) fillChunk(halt bool, keys []string, s *BatchSections, res *BatchResult) bool {
	failed := false
	for _, k := range keys {
		cr := res.Results[k]
		if raw, ok := s.Time[k]; ok {
			var t Time
			if t.UnmarshalJSON(raw) == nil {
				cr.Time = &t
				c.ops.observe(cr.Cmd.Method, &t)
			}
		}
		if raw, ok := s.Errors[k]; ok {
			failed = true
			cr.Status = Failed
			apiErr, err := DecodeError(cr.Cmd.Method, 0, raw)
			if err != nil {
				cr.Err = err
				continue
			}
			cr.Err = apiErr
			if strings.EqualFold(apiErr.Code, CodeOperationTimeLimit) {
				c.stats.opLimit.Add(1)
				c.ops.block(cr.Cmd.Method)
			}
			continue
		}
		raw, ok := s.Result[k]
		if !ok {
			// Only a halt after a failed command explains a command the
			// answer does not mention. Otherwise the batch ran and says
			// nothing of it: a write may have happened (look it up before
			// sending it again); a read can always be sent again.
			if !(halt && failed) && !IsReadMethod(cr.Cmd.Method) {
				cr.Status = Unknown
				cr.Err = &OutcomeUnknownError{Method: cr.Cmd.Method, Err: errNotInAnswer}
			}
			continue
		}
		cr.Status, cr.Result = Done, raw
		if t, ok := s.Total[k]; ok {
			n, _ := parseLooseInt(t)
			cr.Total = int(n)
		}
		if nx, ok := s.Next[k]; ok {
			n, err := parseLooseInt(nx)
			if err == nil {
				cr.Next, cr.HasNext = int(n), true
			}
		}
	}
	return halt && failed
}

// portalWideFailure returns the first command of chunk refused for a reason
// of the portal's or the webhook's configuration: it is not that command's
// item that is wrong, and the rest of the run would fail the same way.
func portalWideFailure(chunk []string, res *BatchResult) error {
	for _, k := range chunk {
		cr := res.Results[k]
		var ae *APIError
		if cr.Status == Failed && errors.As(cr.Err, &ae) && ae.PortalWide() {
			return fmt.Errorf("bitrix: batch command %q: %w", k, cr.Err)
		}
	}
	return nil
}
