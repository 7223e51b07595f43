package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// MaxFindByCommValues is the portal's cap of values per crm.duplicate.findbycomm.
const MaxFindByCommValues = 20

// Communication types of crm.duplicate.findbycomm.
const (
	CommPhone = "PHONE"
	CommEmail = "EMAIL"
)

// FindByCommCmds builds crm.duplicate.findbycomm commands of at most 20
// values each. entityType (CONTACT, LEAD, COMPANY) should always be given:
// with 20+ matches of one type the others are not returned.
func FindByCommCmds(commType string, values []string, entityType string) []Cmd {
	var out []Cmd
	for start := 0; start < len(values); start += MaxFindByCommValues {
		end := min(start+MaxFindByCommValues, len(values))
		p := map[string]any{"type": commType, "values": append([]string(nil), values[start:end]...)}
		if entityType != "" {
			p["entity_type"] = entityType
		}
		out = append(out, Cmd{Method: "crm.duplicate.findbycomm", Params: p})
	}
	return out
}

// FindByComm returns matching ids per entity type ("CONTACT" → ids),
// ascending and without repeats, over as many calls as values need.
func (c *Client) FindByComm(ctx context.Context, commType string, values []string, entityType string) (map[string][]ID, error) {
	out := map[string][]ID{}
	for _, cmd := range FindByCommCmds(commType, values, entityType) {
		m, err := runAs(ctx, c, cmd, decodeIn(cmd.Method, DecodeDuplicates))
		if err != nil {
			return nil, err
		}
		for k, ids := range m {
			out[k] = append(out[k], ids...)
		}
	}
	for k, ids := range out {
		out[k] = uniqueIDs(ids)
	}
	return out, nil
}

// DecodeDuplicates decodes {"CONTACT":[275,2297]}, or [] when nothing matched.
func DecodeDuplicates(raw json.RawMessage) (map[string][]ID, error) {
	var m map[string]json.RawMessage
	if err := decodeObject(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: duplicates: %w", ErrBadResponse, err)
	}
	out := make(map[string][]ID, len(m))
	for k, v := range m {
		var ids []ID
		if err := decodeList(v, &ids); err != nil {
			return nil, fmt.Errorf("%w: duplicates %s: %w", ErrBadResponse, k, err)
		}
		out[k] = ids
	}
	return out, nil
}

func uniqueIDs(ids []ID) []ID {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}
