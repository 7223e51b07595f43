package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Entity is a legacy CRM entity family (crm.<entity>.*).
type Entity string

// Entities crmsync writes.
const (
	EntityDeal    Entity = "deal"
	EntityContact Entity = "contact"
	EntityLead    Entity = "lead"
)

// Entity type ids of crm.item/stagehistory/category methods.
const (
	EntityTypeLead    = 1
	EntityTypeDeal    = 2
	EntityTypeContact = 3
)

// PageSize is the fixed page size of list methods.
const PageSize = 50

// NoCount as ListRequest.Start asks for one page without the total count.
// The portal's own form of it, start=-1, is documented only for some list
// methods (see FastStart); elsewhere the request is sent with start=0,
// which answers the same first page and also counts.
const NoCount = -1

// FastStart reports whether the documentation shows start=-1 (no count,
// no next) for method: the worked example of docs/api-notes.md ("Lists and
// paging") uses crm.lead.list in earlier versions and crm.item.list now.
// crm.deal.list, crm.contact.list, crm.stagehistory.list and
// crm.timeline.comment.list document only start ≥ 0.
func FastStart(method string) bool {
	switch method {
	case "crm.lead.list", "crm.item.list":
		return true
	}
	return false
}

// Params are the "params" of a write (REGISTER_SONET_EVENT, ...).
type Params map[string]any

// ListRequest is the common shape of *.list calls.
type ListRequest struct {
	Filter map[string]any    // operators as key prefixes: @, !@, >, >=, <, <=, =, !, %
	Select []string          // multifields (PHONE, EMAIL) only when named
	Order  map[string]string // e.g. {"ID": "ASC"}
	Start  int               // offset, a multiple of PageSize (the page's next); NoCount: first page, uncounted where possible
}

// params renders the request for method; NoCount becomes start=-1 only
// where the method documents it.
func (l ListRequest) params(method string) map[string]any {
	start := l.Start
	if start < 0 && !FastStart(method) {
		start = 0
	}
	p := map[string]any{"start": start}
	if len(l.Filter) > 0 {
		p["filter"] = l.Filter
	}
	if len(l.Select) > 0 {
		p["select"] = l.Select
	}
	if len(l.Order) > 0 {
		p["order"] = l.Order
	}
	return p
}

// ListPage is one page of rows.
type ListPage struct {
	Rows    []Record
	Total   int
	Next    int
	HasNext bool
}

func withParams(p map[string]any, params Params) map[string]any {
	if len(params) > 0 {
		p["params"] = map[string]any(params)
	}
	return p
}

// AddCmd builds crm.<e>.add.
func AddCmd(e Entity, fields Fields, params Params) Cmd {
	return Cmd{Method: "crm." + string(e) + ".add", Params: withParams(map[string]any{"fields": map[string]any(fields)}, params)}
}

// UpdateCmd builds crm.<e>.update. Send only changed fields; a multifield row
// without ID is added, not matched.
func UpdateCmd(e Entity, id ID, fields Fields, params Params) Cmd {
	return Cmd{Method: "crm." + string(e) + ".update", Params: withParams(map[string]any{"id": id, "fields": map[string]any(fields)}, params)}
}

// GetCmd builds crm.<e>.get.
func GetCmd(e Entity, id ID) Cmd {
	return Cmd{Method: "crm." + string(e) + ".get", Params: map[string]any{"id": id}}
}

// ListCmd builds crm.<e>.list.
func ListCmd(e Entity, req ListRequest) Cmd {
	m := "crm." + string(e) + ".list"
	return Cmd{Method: m, Params: req.params(m)}
}

// PageCmd is list command cmd asking for the page at start (a next the
// portal answered). The parameters are copied: cmd is not changed.
func PageCmd(cmd Cmd, start int) Cmd {
	p := make(map[string]any, len(cmd.Params))
	for k, v := range cmd.Params {
		p[k] = v
	}
	p["start"] = start
	return Cmd{Method: cmd.Method, Params: p}
}

// readPages runs cmdAt(start) from start 0, page after page, following
// next, and decodes each page. It stops after the last page: no next, an
// empty page, or a next that does not move on. On an error it returns what
// it read so far; a decode error is decode's own.
func readPages[T any](ctx context.Context, c *Client, cmdAt func(start int) Cmd, decode func(json.RawMessage) ([]T, error)) ([]T, error) {
	var out []T
	for start := 0; ; {
		page, resp, err := runResult(ctx, c, cmdAt(start), decode)
		if err != nil {
			return out, err
		}
		out = append(out, page...)
		if !resp.HasNext || len(page) == 0 || resp.Next <= start {
			return out, nil
		}
		start = resp.Next
	}
}

// decodeIn names method in decode's errors: "bitrix: METHOD: …".
func decodeIn[T any](method string, decode func(json.RawMessage) (T, error)) func(json.RawMessage) (T, error) {
	return func(raw json.RawMessage) (T, error) {
		v, err := decode(raw)
		if err != nil {
			var zero T
			return zero, fmt.Errorf("bitrix: %s: %w", method, err)
		}
		return v, nil
	}
}

// runResult runs cmd as a plain call and decodes its result with decode;
// the answer is returned too for its paging (total, next). When the call
// fails the value is T's zero and the answer nil.
func runResult[T any](ctx context.Context, c *Client, cmd Cmd, decode func(json.RawMessage) (T, error)) (T, *Response, error) {
	resp, err := c.Run(ctx, cmd, nil)
	if err != nil {
		var zero T
		return zero, nil, err
	}
	v, err := decode(resp.Result)
	return v, resp, err
}

// runAs is runResult for a caller that needs only the value.
func runAs[T any](ctx context.Context, c *Client, cmd Cmd, decode func(json.RawMessage) (T, error)) (T, error) {
	v, _, err := runResult(ctx, c, cmd, decode)
	return v, err
}

// FieldsCmd builds crm.<e>.fields.
func FieldsCmd(e Entity) Cmd {
	return Cmd{Method: "crm." + string(e) + ".fields", Params: map[string]any{}}
}

// Run executes cmd as a plain call and decodes its result into out.
func (c *Client) Run(ctx context.Context, cmd Cmd, out any) (*Response, error) {
	return c.Call(ctx, cmd.Method, cmd.Params, out)
}

// Add creates an entity and returns its id.
func (c *Client) Add(ctx context.Context, e Entity, fields Fields, params Params) (ID, error) {
	var id ID
	_, err := c.Run(ctx, AddCmd(e, fields, params), &id)
	return id, err
}

// Update changes an entity; a missing id is ErrNotFound.
func (c *Client) Update(ctx context.Context, e Entity, id ID, fields Fields, params Params) error {
	cmd := UpdateCmd(e, id, fields, params)
	resp, err := c.Run(ctx, cmd, nil)
	if err != nil {
		return err
	}
	return DecodeTrue(cmd.Method, resp.Result)
}

// Get reads one entity (a contact or a company with its PHONE and EMAIL
// rows).
func (c *Client) Get(ctx context.Context, e Entity, id ID) (Record, error) {
	var r Record
	if _, err := c.Run(ctx, GetCmd(e, id), &r); err != nil {
		return nil, err
	}
	return r, nil
}

// List reads one page.
func (c *Client) List(ctx context.Context, e Entity, req ListRequest) (*ListPage, error) {
	cmd := ListCmd(e, req)
	rows, resp, err := runResult(ctx, c, cmd, decodeIn(cmd.Method, DecodeRows))
	if err != nil {
		return nil, err
	}
	return &ListPage{Rows: rows, Total: resp.Total, Next: resp.Next, HasNext: resp.HasNext}, nil
}

// ListPages reads every row matching req: the page at req.Start and each
// further page the portal names in next. Rows come in the portal's order.
func (c *Client) ListPages(ctx context.Context, e Entity, req ListRequest) ([]Record, error) {
	req.Start = max(req.Start, 0)
	var out []Record
	for {
		page, err := c.List(ctx, e, req)
		if err != nil {
			return out, err
		}
		out = append(out, page.Rows...)
		if !page.HasNext || len(page.Rows) == 0 || page.Next <= req.Start {
			return out, nil
		}
		req.Start = page.Next
	}
}

// ListAll walks every row matching req.Filter in ascending ID order with the
// fast pattern (filter >ID, order ID ASC, start NoCount), calling fn per row.
func (c *Client) ListAll(ctx context.Context, e Entity, req ListRequest, fn func(Record) error) error {
	return listAll(req, func(r ListRequest) ([]Record, error) {
		page, err := c.List(ctx, e, r)
		if err != nil {
			return nil, err
		}
		return page.Rows, nil
	}, fn)
}

// listAll drives >ID paging over any list method.
func listAll(req ListRequest, page func(ListRequest) ([]Record, error), fn func(Record) error) error {
	filter := map[string]any{}
	for k, v := range req.Filter {
		filter[k] = v
	}
	var last ID
	if v, ok := filter[">ID"]; ok {
		if id, err := ParseID(fmt.Sprint(v)); err == nil {
			last = id
		}
	}
	sel := req.Select
	if len(sel) > 0 && !slices.Contains(sel, "ID") && !slices.Contains(sel, "*") {
		sel = append([]string{"ID"}, sel...)
	}
	for {
		filter[">ID"] = last
		rows, err := page(ListRequest{Filter: filter, Select: sel, Order: map[string]string{"ID": "ASC"}, Start: NoCount})
		if err != nil {
			return err
		}
		for _, r := range rows {
			if id := r.ID(); id > last {
				last = id
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) < PageSize {
			return nil
		}
	}
}

// Fields describes the entity's fields (crm.<e>.fields).
func (c *Client) Fields(ctx context.Context, e Entity) (map[string]FieldInfo, error) {
	return runAs(ctx, c, FieldsCmd(e), func(raw json.RawMessage) (map[string]FieldInfo, error) {
		var m map[string]FieldInfo
		if err := decodeObject(raw, &m); err != nil {
			return nil, fmt.Errorf("%w: crm.%s.fields: %w", ErrBadResponse, e, err)
		}
		return m, nil
	})
}

// FieldInfo is one entry of crm.<e>.fields.
type FieldInfo struct {
	Type        string `json:"type"`
	IsRequired  bool   `json:"isRequired"`
	IsReadOnly  bool   `json:"isReadOnly"`
	IsImmutable bool   `json:"isImmutable"`
	IsMultiple  bool   `json:"isMultiple"`
	IsDynamic   bool   `json:"isDynamic"`
	Title       string `json:"title"`
	StatusType  string `json:"statusType,omitempty"`
	// Items are the values of a list (enumeration) user field.
	Items []EnumItem `json:"items,omitempty"`
}

// DecodeID decodes a write result holding a new id (number or string).
func DecodeID(raw json.RawMessage) (ID, error) {
	var id ID
	if err := json.Unmarshal(raw, &id); err != nil {
		return 0, fmt.Errorf("%w: id: %w", ErrBadResponse, err)
	}
	return id, nil
}

// DecodeRows decodes a list result ([] or an index-keyed object).
func DecodeRows(raw json.RawMessage) ([]Record, error) { return listOf[Record]("rows")(raw) }

// DecodeTrue checks an update's result (true, "1", 1, "Y").
func DecodeTrue(method string, raw json.RawMessage) error {
	switch rawText(raw) {
	case "true", "1", "Y":
		return nil
	}
	return &APIError{Method: method, Description: "portal answered " + truncate(string(raw), 40)}
}

// DealFields describes deal fields (crm.deal.fields).
func (c *Client) DealFields(ctx context.Context) (map[string]FieldInfo, error) {
	return c.Fields(ctx, EntityDeal)
}

// MethodItemUpdate is the universal update; crmsync uses it only to move a
// deal to another funnel, which crm.deal.update cannot do: it ignores
// CATEGORY_ID (docs/api-notes.md, "Funnels").
const MethodItemUpdate = "crm.item.update"

// MoveDealCmd builds crm.item.update moving deal id to funnel category,
// at stage (a stage of that funnel). The stage is sent with the move: the
// portal would otherwise put the deal in the new funnel's first stage.
func MoveDealCmd(id ID, category int, stage string) Cmd {
	fields := map[string]any{"categoryId": category}
	if stage != "" {
		fields["stageId"] = stage
	}
	return Cmd{Method: MethodItemUpdate, Params: map[string]any{"entityTypeId": EntityTypeDeal, "id": id, "fields": fields}}
}
