package bitrixtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// EnumItem is one value of a list (enumeration) user field.
type EnumItem struct {
	ID    int64
	Value string
	Sort  int
	Def   bool
	XMLID string
}

// BadEnumValue is a value written to a list (enumeration) user field that
// is not the ID of one of its items (e.g. the item's text).
type BadEnumValue struct {
	Method, Field, Value string
}

func (b BadEnumValue) String() string {
	return fmt.Sprintf("%s: %s = %q is not the ID of one of the field's list items", b.Method, b.Field, b.Value)
}

// BadEnumValues returns the values written to list fields that name no
// item of the field, in the order they came. What a portal does with such
// a value is not documented: the fake stores it as sent, as a portal that
// does not check would, and New fails the test for each one.
func (s *Server) BadEnumValues() []BadEnumValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data.badEnums)
}

// SeedEnumField registers a list (enumeration) user field (entityID
// CRM_DEAL, CRM_LEAD, CRM_CONTACT) with one item per value, and returns the
// field's id and the items' ids in order.
func (s *Server) SeedEnumField(entityID, fieldName string, multiple bool, values ...string) (int64, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.data.addUserField(entityID, fieldName, "enumeration", multiple)
	uf := s.data.userFields[len(s.data.userFields)-1]
	list := make([]any, len(values))
	for i, v := range values {
		list[i] = map[string]any{"VALUE": v, "SORT": strconv.Itoa((i + 1) * 10)}
	}
	uf.Items = s.data.enumItems(list)
	ids := make([]int64, len(uf.Items))
	for i, it := range uf.Items {
		ids[i] = it.ID
	}
	return id, ids
}

// enumItems reads the LIST of crm.<e>.userfield.add: items with an empty
// or missing VALUE are ignored (crm-deal-userfield-add.md); an XML_ID not
// given is generated, as the docs' examples show 32 hex digits.
func (d *store) enumItems(v any) []EnumItem {
	var out []EnumItem
	for _, e := range List(v) {
		m := asMap(e)
		val := Str(firstOf(m, "VALUE"))
		if m == nil || val == "" {
			continue
		}
		d.nextEnum++
		sort, _ := intParam(firstOf(m, "SORT"))
		xml := Str(firstOf(m, "XML_ID"))
		if xml == "" {
			xml = fmt.Sprintf("%032x", d.nextEnum)
		}
		out = append(out, EnumItem{ID: d.nextEnum, Value: val, Sort: int(sort), Def: truthy(firstOf(m, "DEF")), XMLID: xml})
	}
	slices.SortStableFunc(out, func(a, b EnumItem) int { return a.Sort - b.Sort })
	return out
}

// checkEnum records every value of v that is neither empty (clearing the
// field) nor the ID of one of uf's items.
func (d *store) checkEnum(uf *UserField, v any) {
	for _, e := range List(v) {
		s := strings.TrimSpace(Str(e))
		if s == "" || s == "false" {
			continue
		}
		id, ok := intParam(s)
		if ok && strconv.FormatInt(id, 10) == s && slices.ContainsFunc(uf.Items, func(it EnumItem) bool { return it.ID == id }) {
			continue
		}
		d.badEnums = append(d.badEnums, BadEnumValue{Method: d.method, Field: uf.FieldName, Value: Str(e)})
	}
}

// enumList renders the items as crm.<e>.userfield.list answers them.
func enumList(items []EnumItem) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = map[string]any{"ID": strconv.FormatInt(it.ID, 10), "SORT": strconv.Itoa(it.Sort), "VALUE": it.Value,
			"DEF": yn(it.Def), "XML_ID": it.XMLID}
	}
	return out
}

// enumFieldItems renders the items as crm.<e>.fields answers them.
func enumFieldItems(items []EnumItem) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = map[string]any{"ID": strconv.FormatInt(it.ID, 10), "VALUE": it.Value}
	}
	return out
}
