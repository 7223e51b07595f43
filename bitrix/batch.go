package bitrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Cmd is one REST call: a method and its parameters. The same value runs as
// a plain call (JSON body) or as a batch command (PHP query string).
type Cmd struct {
	Method string
	Params map[string]any
}

// Query renders the command as "method?query" for a batch.
func (c Cmd) Query() (string, error) {
	q, err := BuildQuery(c.Params)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.Method, err)
	}
	if q == "" {
		return c.Method, nil
	}
	return c.Method + "?" + q, nil
}

// Batch is an ordered list of keyed commands. Keys must not be numeric: PHP
// would turn the result sections into JSON arrays and errors could not be
// mapped back to their commands.
type Batch struct {
	// Halt stops at the first failing command. Set it whenever a command
	// uses $result[...] of another: a failed reference is substituted
	// literally and the dependent command would run with garbage.
	Halt bool
	keys []string
	cmds map[string]Cmd
}

// NewBatch returns an empty batch.
func NewBatch(halt bool) *Batch { return &Batch{Halt: halt, cmds: map[string]Cmd{}} }

var batchKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_\-.:]*$`)

// Add appends a command under key.
func (b *Batch) Add(key string, cmd Cmd) error {
	if b.cmds == nil {
		b.cmds = map[string]Cmd{}
	}
	if !batchKeyRe.MatchString(key) {
		return fmt.Errorf("%w: command key %q must start with a letter and hold no brackets", ErrInvalidBatch, key)
	}
	if _, dup := b.cmds[key]; dup {
		return fmt.Errorf("%w: duplicate command key %q", ErrInvalidBatch, key)
	}
	if strings.EqualFold(cmd.Method, "batch") || cmd.Method == "" {
		return fmt.Errorf("%w: command %q: method %q not allowed in a batch", ErrInvalidBatch, key, cmd.Method)
	}
	b.keys = append(b.keys, key)
	b.cmds[key] = cmd
	return nil
}

// Len is the number of commands.
func (b *Batch) Len() int { return len(b.keys) }

// Keys returns the command keys in insertion order.
func (b *Batch) Keys() []string { return append([]string(nil), b.keys...) }

// Cmd returns the command under key.
func (b *Batch) Cmd(key string) (Cmd, bool) {
	c, ok := b.cmds[key]
	return c, ok
}

// refKeyRe extracts the command key of a Ref.
var refKeyRe = regexp.MustCompile(`^\$result(?:_[a-z]+)?\[([^\]]+)\]`)

// refsOf returns the command keys that Ref values in params point to. Only
// Ref values count: a customer's text that happens to look like a reference
// is data, not a dependency.
func refsOf(params map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case Ref:
			if m := refKeyRe.FindStringSubmatch(string(x)); m != nil {
				out = append(out, m[1])
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	// The shapes commands are built from are walked as they are; anything
	// else is normalised first (as the query will be), so that a Ref inside
	// it is found the same way.
	var raw func(v any)
	raw = func(v any) {
		switch x := v.(type) {
		case nil, string, bool, json.Number, int, int64, ID:
		case Ref:
			walk(x)
		case map[string]any:
			for _, e := range x {
				raw(e)
			}
		case Fields:
			for _, e := range x {
				raw(e)
			}
		case []any:
			for _, e := range x {
				raw(e)
			}
		default:
			if norm, err := normalize(x); err == nil {
				walk(norm)
			}
		}
	}
	raw(params)
	return out
}

// plan splits the batch into chunks of at most max commands, keeping every
// chain of $result references in one chunk and the insertion order inside
// each chunk.
func (b *Batch) plan(max int) ([][]string, map[string]string, error) {
	queries := make(map[string]string, len(b.keys))
	index := make(map[string]int, len(b.keys))
	parent := make([]int, len(b.keys))
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, k := range b.keys {
		parent[i] = i
		index[k] = i
		q, err := b.cmds[k].Query()
		if err != nil {
			return nil, nil, fmt.Errorf("command %q: %w", k, err)
		}
		queries[k] = q
		for _, ref := range refsOf(b.cmds[k].Params) {
			j, ok := index[ref]
			if !ok || j == i {
				return nil, nil, fmt.Errorf("%w: command %q refers to %q, which is not an earlier command of the batch", ErrInvalidBatch, k, ref)
			}
			parent[find(i)] = find(j)
		}
	}
	members := map[int][]int{}
	var roots []int
	for i := range b.keys {
		r := find(i)
		if _, seen := members[r]; !seen {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	var chunks [][]string
	var cur []int
	flush := func() {
		if len(cur) == 0 {
			return
		}
		sortInts(cur)
		keys := make([]string, len(cur))
		for i, idx := range cur {
			keys[i] = b.keys[idx]
		}
		chunks = append(chunks, keys)
		cur = nil
	}
	for _, r := range roots {
		group := members[r]
		if len(group) > max {
			return nil, nil, fmt.Errorf("%w: %d commands chained by $result references exceed %d per batch (first %q)", ErrInvalidBatch, len(group), max, b.keys[group[0]])
		}
		if len(cur)+len(group) > max {
			flush()
		}
		cur = append(cur, group...)
	}
	flush()
	return chunks, queries, nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// encodeBatchBody writes {"halt":h,"cmd":{...}} keeping the insertion order
// (encoding/json would sort map keys, and commands run in body order).
func encodeBatchBody(halt bool, keys []string, queries map[string]string) []byte {
	var buf bytes.Buffer
	n := len(`{"halt":0,"cmd":{}}`)
	for _, k := range keys {
		n += len(k) + len(queries[k]) + 8 // quotes, colon, comma and a few escapes
	}
	buf.Grow(n)
	buf.WriteString(`{"halt":`)
	if halt {
		buf.WriteString("1")
	} else {
		buf.WriteString("0")
	}
	buf.WriteString(`,"cmd":{`)
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(queries[k])
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteString("}}")
	return buf.Bytes()
}

// BatchSections is the decoded "result" of a batch answer.
type BatchSections struct {
	Result map[string]json.RawMessage
	Errors map[string]json.RawMessage
	Total  map[string]json.RawMessage
	Next   map[string]json.RawMessage
	Time   map[string]json.RawMessage
}

// DecodeBatchResult decodes the result object of a batch answer; every
// section may be [] instead of {}.
func DecodeBatchResult(raw []byte) (*BatchSections, error) {
	var top map[string]json.RawMessage
	if err := decodeObject(raw, &top); err != nil {
		return nil, fmt.Errorf("%w: batch result: %w", ErrBadResponse, err)
	}
	s := &BatchSections{}
	for name, dst := range map[string]*map[string]json.RawMessage{
		"result": &s.Result, "result_error": &s.Errors, "result_total": &s.Total,
		"result_next": &s.Next, "result_time": &s.Time,
	} {
		if err := decodeObject(top[name], dst); err != nil {
			return nil, fmt.Errorf("%w: batch %s: %w", ErrBadResponse, name, err)
		}
	}
	return s, nil
}
