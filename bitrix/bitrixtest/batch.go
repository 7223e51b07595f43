package bitrixtest

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// orderKey carries the order of batch commands from the raw body into the
// handler: JSON objects and PHP arrays keep insertion order, Go maps do not.
const orderKey = "\x00cmd-order"

// MaxBatch is the portal's limit of commands per batch.
const MaxBatch = 50

// cmdOrder reads the keys of "cmd" in the order they were sent: for a
// JSON body, those of the last top-level "cmd" member when it is an object
// (nil otherwise, or when the body is not valid JSON). A batch body is
// scanned once without decoding its values: it is the portal's largest
// request and a backfill sends thousands.
func cmdOrder(body []byte, isJSON bool, rawQuery string) []string {
	if isJSON {
		if !json.Valid(body) {
			return nil
		}
		return jsonCmdKeys(body)
	}
	_, order := parseQueryOrdered(rawQuery + "&" + string(body))
	return order["\x00cmd"]
}

// jsonCmdKeys is cmdOrder on a body json.Valid accepts.
func jsonCmdKeys(b []byte) []string {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil // null, or not an object
	}
	var cmd []byte // the last "cmd" member's value
	found := false
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end := skipString(b, i)
		key := jsonKey(b[i:end])
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // ':'
		vend := skipValue(b, i)
		if key == "cmd" {
			cmd, found = b[i:vend], true
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if !found || len(cmd) == 0 || cmd[0] != '{' {
		return nil // an array: keys 0..n-1 in order
	}
	var keys []string
	i = skipSpace(cmd, 1)
	for i < len(cmd) && cmd[i] == '"' {
		end := skipString(cmd, i)
		keys = append(keys, jsonKey(cmd[i:end]))
		i = skipSpace(cmd, end)
		i = skipSpace(cmd, i+1) // ':'
		i = skipSpace(cmd, skipValue(cmd, i))
		if i < len(cmd) && cmd[i] == ',' {
			i = skipSpace(cmd, i+1)
		}
	}
	return keys
}

// jsonKey is a quoted JSON string's text; escapes and non-ASCII bytes go
// through encoding/json (which also replaces invalid UTF-8).
func jsonKey(q []byte) string {
	for _, c := range q {
		if c == '\\' || c >= 0x80 {
			var s string
			_ = json.Unmarshal(q, &s)
			return s
		}
	}
	if len(q) < 2 {
		return ""
	}
	return string(q[1 : len(q)-1])
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

var refRe = regexp.MustCompile(`\$result\[([^\]]+)\]((?:\[[^\]]*\])*)`)

func (s *Server) batch(p map[string]any) (*result, *apiErr) {
	cmdv := p["cmd"]
	var keys []string
	cmds := map[string]string{}
	switch c := cmdv.(type) {
	case map[string]any:
		for k, v := range c {
			cmds[k] = Str(v)
		}
		keys, _ = p[orderKey].([]string)
		if len(keys) != len(cmds) {
			keys = keys[:0]
			for k := range cmds {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
	case []any:
		for i, v := range c {
			k := strconv.Itoa(i)
			cmds[k] = Str(v)
			keys = append(keys, k)
		}
	default:
		return nil, codeErr(400, "INVALID_REQUEST", "Parameter 'cmd' is required")
	}
	if len(keys) > MaxBatch {
		return nil, codeErr(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
	}
	for _, k := range keys {
		m, _, _ := strings.Cut(cmds[k], "?")
		if strings.EqualFold(strings.TrimSuffix(m, ".json"), "batch") {
			return nil, codeErr(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
		}
	}
	halt := truthy(p["halt"])
	results, errs, totals, nexts, times := newOmap(), newOmap(), newOmap(), newOmap(), newOmap()
	done := map[string]any{}
	for _, k := range keys {
		m, query, _ := strings.Cut(cmds[k], "?")
		method := strings.ToLower(strings.TrimSuffix(m, ".json"))
		params := substitute(ParseQuery(query), done).(map[string]any)
		s.stats.BatchCommands++
		s.stats.CommandsPerMethod[method]++
		start := s.clock.Now()
		var res *result
		e := s.checkOperating(method)
		if e != nil {
			s.stats.OperationLimitInBatch++
		} else {
			res, e = s.dispatch(method, params)
		}
		if e != nil {
			errs.set(k, e.body())
			if halt {
				break
			}
			continue
		}
		results.set(k, res.value)
		done[k] = generic(res.value)
		if res.hasTot {
			totals.set(k, res.total)
		}
		if res.hasNext {
			nexts.set(k, res.next)
		}
		times.set(k, s.timeObject(method, start, s.charge(method)))
	}
	return ok(map[string]any{"result": results, "result_error": errs, "result_total": totals, "result_next": nexts, "result_time": times})
}

// generic round-trips a result through JSON so references can walk it.
func generic(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return nil
	}
	return out
}

// substitute resolves $result[cmd][path] in every string value. A reference
// to a failed or missing command, or to a row that does not exist, stays as
// literal text, as the portal does.
func substitute(v any, done map[string]any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = substitute(e, done)
		}
		return x
	case string:
		if !strings.Contains(x, "$result[") {
			return x
		}
		if loc := refRe.FindStringSubmatchIndex(x); loc != nil && loc[0] == 0 && loc[1] == len(x) {
			if val, ok := resolve(x, done); ok {
				if _, scalar := val.(map[string]any); !scalar {
					if _, list := val.([]any); !list {
						return Str(val)
					}
				}
				return toPHP(val)
			}
			return x
		}
		return refRe.ReplaceAllStringFunc(x, func(ref string) string {
			if val, ok := resolve(ref, done); ok {
				return Str(val)
			}
			return ref
		})
	}
	return v
}

func resolve(ref string, done map[string]any) (any, bool) {
	m := refRe.FindStringSubmatch(ref)
	cur, ok := done[m[1]]
	if !ok {
		return nil, false
	}
	for _, seg := range splitKey("x" + m[2])[1:] {
		switch c := cur.(type) {
		case map[string]any:
			cur, ok = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			ok = err == nil && i >= 0 && i < len(c)
			if ok {
				cur = c[i]
			}
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// toPHP turns decoded JSON into the string-leaf maps a parsed query has.
func toPHP(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = toPHP(e)
		}
		return out
	case []any:
		out := map[string]any{}
		for i, e := range x {
			out[strconv.Itoa(i)] = toPHP(e)
		}
		return out
	}
	return Str(v)
}
