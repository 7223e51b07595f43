package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	stdsync "sync"

	"github.com/crmsync/crmsync/bitrix"
)

// gate is the one door every Bitrix24 write goes through. The live gate
// sends; the dry-run gate records and answers as the portal would, with
// placeholder ids, so planning runs unchanged (a restic-style decorator).
type gate interface {
	write(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error)
	// clearRows removes every product row of a deal or lead: a plain call,
	// as a batch command cannot carry an empty list (bitrix.ProductRowsSetCmd).
	clearRows(ctx context.Context, ent bitrix.Entity, id bitrix.ID) error
	// overlay returns rows the gate created or changed, to merge into
	// lookups (dry runs only); nil for the live gate.
	overlay() *overlay
}

// sentCmd is a write as it left the gate, kept when recording is on (tests
// compare what a dry run announced with what a real run sent).
type sentCmd struct {
	Key string
	Cmd bitrix.Cmd
}

type liveGate struct {
	bx  Bitrix
	mu  stdsync.Mutex
	rec *[]sentCmd
	// beforeWrite, when set, is called before every write (the engine
	// gives up a stage head not read yet, see markStageHead).
	beforeWrite func()
}

func (g *liveGate) write(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if g.beforeWrite != nil {
		g.beforeWrite()
	}
	if g.rec != nil {
		g.mu.Lock()
		for _, k := range b.Keys() {
			c, _ := b.Cmd(k)
			*g.rec = append(*g.rec, sentCmd{Key: k, Cmd: c})
		}
		g.mu.Unlock()
	}
	return g.bx.Batch(ctx, b)
}

func (g *liveGate) overlay() *overlay { return nil }

// RowsSetter is implemented by a Bitrix24 client that can set product rows
// with a plain call (*bitrix.Client does): only that can clear them.
type RowsSetter interface {
	SetProductRows(ctx context.Context, e bitrix.Entity, id bitrix.ID, rows []bitrix.ProductRow) error
}

func (g *liveGate) clearRows(ctx context.Context, ent bitrix.Entity, id bitrix.ID) error {
	if g.beforeWrite != nil {
		g.beforeWrite()
	}
	g.record(clearRowsCmd(ent, id))
	c, ok := g.bx.(RowsSetter)
	if !ok {
		return fmt.Errorf("bitrix: the client %T cannot clear product rows", g.bx)
	}
	return c.SetProductRows(ctx, ent, id, nil)
}

func (g *liveGate) record(c sentCmd) {
	if g.rec != nil {
		g.mu.Lock()
		*g.rec = append(*g.rec, c)
		g.mu.Unlock()
	}
}

// clearRowsCmd is how a clearing call is recorded: the rows call with none.
func clearRowsCmd(ent bitrix.Entity, id bitrix.ID) sentCmd {
	return sentCmd{Key: "clear", Cmd: bitrix.Cmd{Method: "crm." + string(ent) + ".productrows.set",
		Params: map[string]any{"id": id, "rows": []any{}}}}
}

// dryGate records writes instead of sending them.
type dryGate struct {
	mu     stdsync.Mutex
	nextID int64
	rec    *[]sentCmd
	ov     *overlay
}

// dryIDBase is where placeholder ids start: far above real ids, so a
// placeholder is never mistaken for an existing entity.
const dryIDBase = 1 << 40

func newDryGate(rec *[]sentCmd) *dryGate {
	return &dryGate{nextID: dryIDBase, rec: rec, ov: newOverlay()}
}

func (g *dryGate) overlay() *overlay { return g.ov }

func (g *dryGate) clearRows(_ context.Context, ent bitrix.Entity, id bitrix.ID) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rec != nil {
		*g.rec = append(*g.rec, clearRowsCmd(ent, id))
	}
	return nil
}

func (g *dryGate) write(_ context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	res := &bitrix.BatchResult{Keys: b.Keys(), Results: map[string]*bitrix.CmdResult{}, Requests: 0}
	for _, k := range b.Keys() {
		c, _ := b.Cmd(k)
		if g.rec != nil {
			*g.rec = append(*g.rec, sentCmd{Key: k, Cmd: c})
		}
		cr := &bitrix.CmdResult{Key: k, Cmd: c, Status: bitrix.Done}
		switch c.Method {
		case "crm.deal.update", "crm.contact.update", "crm.lead.update":
			cr.Result = json.RawMessage("true")
			g.ov.update(entityOfMethod(c.Method), c.Params)
		case "crm.deal.productrows.set", "crm.lead.productrows.set":
			cr.Result = json.RawMessage("true")
		case bitrix.MethodItemUpdate:
			// A deal's move to another funnel: later pages see it there.
			cr.Result = json.RawMessage(`{"item":{}}`)
			fields, _ := c.Params["fields"].(map[string]any)
			g.ov.update(bitrix.EntityDeal, map[string]any{"id": c.Params["id"], "fields": map[string]any{
				bitrix.FieldCategoryID: fields["categoryId"], bitrix.FieldStageID: fields["stageId"]}})
		case "crm.deal.contact.add", "crm.lead.contact.add":
			// Later pages see the contact as linked (as the primary one:
			// the overlay keeps no list).
			cr.Result = json.RawMessage("true")
			ent := bitrix.EntityDeal
			if c.Method == "crm.lead.contact.add" {
				ent = bitrix.EntityLead
			}
			fields, _ := c.Params["fields"].(map[string]any)
			g.ov.update(ent, map[string]any{"id": c.Params["id"], "fields": map[string]any{bitrix.FieldContactID: fields["CONTACT_ID"]}})
		default:
			g.nextID++
			cr.Result = json.RawMessage(strconv.FormatInt(g.nextID, 10))
			if e := entityOfMethod(c.Method); e != "" {
				g.ov.add(e, g.nextID, c.Params)
			}
		}
		res.Results[k] = cr
	}
	return res, nil
}

// entityOfMethod returns the entity of crm.<e>.add/update, or "".
func entityOfMethod(m string) bitrix.Entity {
	switch m {
	case "crm.deal.add", "crm.deal.update":
		return bitrix.EntityDeal
	case "crm.contact.add", "crm.contact.update":
		return bitrix.EntityContact
	case "crm.lead.add", "crm.lead.update":
		return bitrix.EntityLead
	}
	return ""
}

// overlay holds the entities a dry run pretended to create or change, as
// portal rows, so later pages of the same dry run plan against them.
type overlay struct {
	rows map[bitrix.Entity]map[int64]bitrix.Record
}

func newOverlay() *overlay { return &overlay{rows: map[bitrix.Entity]map[int64]bitrix.Record{}} }

func (o *overlay) table(e bitrix.Entity) map[int64]bitrix.Record {
	t := o.rows[e]
	if t == nil {
		t = map[int64]bitrix.Record{}
		o.rows[e] = t
	}
	return t
}

func (o *overlay) add(e bitrix.Entity, id int64, params map[string]any) {
	rec := bitrix.Record{"ID": jsonString(strconv.FormatInt(id, 10))}
	o.table(e)[id] = rec
	o.apply(rec, params)
}

func (o *overlay) update(e bitrix.Entity, params map[string]any) {
	id, _ := params["id"].(bitrix.ID)
	t := o.table(e)
	rec := t[int64(id)]
	if rec == nil {
		rec = bitrix.Record{"ID": jsonString(id.String())}
		t[int64(id)] = rec
	}
	o.apply(rec, params)
}

func (o *overlay) apply(rec bitrix.Record, params map[string]any) {
	fields, _ := params["fields"].(map[string]any)
	for k, v := range fields {
		switch k {
		case bitrix.FieldEmail, bitrix.FieldPhone:
			var rows []bitrix.Multifield
			_ = rec.Decode(k, &rows)
			if list, ok := v.([]map[string]any); ok {
				for _, r := range list {
					s, _ := r["VALUE"].(string)
					rows = append(rows, bitrix.Multifield{Value: s, TypeID: k, ValueType: "WORK"})
				}
			}
			b, _ := json.Marshal(rows)
			rec[k] = b
		case bitrix.FieldContactIDs:
			if ids, ok := v.([]bitrix.ID); ok && len(ids) > 0 {
				rec[bitrix.FieldContactID] = jsonString(ids[0].String())
			}
		default:
			rec[k] = jsonString(toString(v))
		}
	}
}

// lookup returns the overlay's rows of e matching pred.
func (o *overlay) lookup(e bitrix.Entity, pred func(bitrix.Record) bool) []bitrix.Record {
	var out []bitrix.Record
	for _, r := range o.rows[e] {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bitrix.ID:
		return x.String()
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
