package bitrixtest

import (
	"strconv"
	"time"
)

// MultiRow is one stored PHONE/EMAIL/WEB/IM row.
type MultiRow struct {
	ID        int64
	TypeID    string // PHONE, EMAIL, ...
	ValueType string
	Value     string
}

// Row is one stored deal, contact or lead. Scalars are kept as the legacy
// API shows them (strings, or nil); Multi holds the multifield rows.
type Row struct {
	ID     int64
	Fields map[string]any
	Multi  map[string][]MultiRow
	// Contacts is a deal's or lead's list of linked contacts, in SORT order.
	Contacts []Binding
	// Products are a deal's or lead's product rows, in the order the
	// portal answers them (SORT).
	Products []ProductRow
	// Companies are a contact's linked companies, in SORT order; a
	// company's linked contacts are its Contacts.
	Companies []CompanyBinding
}

// Str returns a scalar field as text.
func (r Row) Str(name string) string { return Str(r.Fields[name]) }

// Values returns a multifield's values in row order.
func (r Row) Values(typ string) []string {
	var out []string
	for _, m := range r.Multi[typ] {
		out = append(out, m.Value)
	}
	return out
}

func (r *Row) clone() Row {
	c := Row{ID: r.ID, Fields: map[string]any{}, Multi: map[string][]MultiRow{}}
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	for k, v := range r.Multi {
		c.Multi[k] = append([]MultiRow(nil), v...)
	}
	c.Contacts = append([]Binding(nil), r.Contacts...)
	c.Products = append([]ProductRow(nil), r.Products...)
	c.Companies = append([]CompanyBinding(nil), r.Companies...)
	return c
}

// Status is a crm.status row.
type Status struct {
	ID         int64
	EntityID   string // DEAL_STAGE, DEAL_STAGE_1, STATUS, SOURCE
	StatusID   string
	Name       string
	Sort       int
	CategoryID int64
	Semantics  string // "", "S", "F"
}

// Category is a deal funnel.
type Category struct {
	ID   int64
	Name string
	Sort int
}

// UserField is a crm.<entity>.userfield row.
type UserField struct {
	ID         int64
	EntityID   string // CRM_DEAL
	FieldName  string
	UserTypeID string
	Multiple   bool
	Items      []EnumItem // list items of an enumeration field
}

// HistoryRow is a crm.stagehistory.list row.
type HistoryRow struct {
	ID           int64
	EntityTypeID int // 1 lead, 2 deal
	TypeID       int // 1 created, 2 moved, 3 moved to final
	OwnerID      int64
	CategoryID   int64
	StageID      string
	SemanticID   string
	Created      time.Time
}

// CommentRow is a timeline comment.
type CommentRow struct {
	ID         int64
	EntityType string
	EntityID   int64
	AuthorID   int64
	Comment    string
	Created    time.Time
}

// TaskRow is a created task.
type TaskRow struct {
	ID     int64
	Fields map[string]any
}

// NotifyRow is a sent notification.
type NotifyRow struct {
	ID      int64
	UserID  int64
	Message string
	Params  map[string]any
}

// WorkflowRow is a started workflow.
type WorkflowRow struct {
	ID         string
	TemplateID int64
	DocumentID []string
	Parameters map[string]any
}

// table holds one entity's rows. ids lists them in ascending order (ids are
// handed out increasing, so an add appends); idx maps index keys (see
// indexedFields) to ascending ids, and keys remembers each row's index keys
// so that an update can move it.
type table struct {
	kind string
	rows map[int64]*Row
	ids  []int64
	next int64
	idx  map[string][]int64
	keys map[int64][]string
}

func newTable(kind string) *table {
	return &table{kind: kind, rows: map[int64]*Row{}, idx: map[string][]int64{}, keys: map[int64][]string{}}
}

type store struct {
	s           *Server
	entities    map[string]*table // deal, contact, lead
	nextMulti   int64
	statuses    []*Status
	nextStatus  int64
	categories  map[int64]*Category
	userFields  []*UserField
	nextUF      int64
	history     []*HistoryRow
	comments    []*CommentRow
	byEntity    map[string][]*CommentRow // comments by ENTITY_ID index key, in creation order
	tasks       []*TaskRow
	notes       []*NotifyRow
	workflows   []*WorkflowRow
	nextID      int64 // comments, tasks, notifications
	catalogs    []*Catalog
	products    []*CatalogProduct // ascending by ID
	nextProduct int64
	nextRow     int64 // product rows
	nextEnum    int64 // list items of enumeration user fields
	badEnums    []BadEnumValue
	method      string          // the method being run, for the records above
	requisites  []*RequisiteRow // ascending by ID
	nextReq     int64
	presets     []*PresetRow // ascending by ID
	nextPreset  int64
	users       []*UserRow // ascending by ID
	nextUser    int64
}

func newStore(s *Server) *store {
	d := &store{s: s, entities: map[string]*table{}, categories: map[int64]*Category{}, byEntity: map[string][]*CommentRow{}, nextMulti: 200, nextStatus: 100, nextUF: 5000, nextID: 900,
		nextProduct: 1200, nextRow: 0, nextEnum: 3100,
		nextReq: 20, nextPreset: 100, nextUser: 10}
	for _, e := range []string{"deal", "contact", "lead", "company"} {
		d.entities[e] = newTable(e)
	}
	d.categories[0] = &Category{ID: 0, Name: "General", Sort: 300}
	for i, st := range []struct{ id, name, sem string }{
		{"NEW", "New", ""}, {"PREPARATION", "Document preparation", ""}, {"PREPAYMENT_INVOICE", "Prepayment invoice", ""},
		{"EXECUTING", "In progress", ""}, {"FINAL_INVOICE", "Final invoice", ""}, {"WON", "Deal successful", "S"},
		{"LOSE", "Deal lost", "F"}, {"APOLOGY", "Analyze failure", "F"},
	} {
		d.addStatus("DEAL_STAGE", st.id, st.name, st.sem, (i+1)*10, 0)
	}
	for i, st := range []struct{ id, name, sem string }{
		{"NEW", "Unassigned", ""}, {"IN_PROCESS", "In progress", ""}, {"PROCESSED", "Processed", ""},
		{"JUNK", "Junk lead", "F"}, {"CONVERTED", "Good lead", "S"},
	} {
		d.addStatus("STATUS", st.id, st.name, st.sem, (i+1)*10, 0)
	}
	for i, ct := range []string{"CUSTOMER", "SUPPLIER", "COMPETITOR", "PARTNER", "OTHER"} {
		d.addStatus("COMPANY_TYPE", ct, ct, "", (i+1)*10, 0)
	}
	d.seedPresets()
	d.users = []*UserRow{{ID: s.opts.UserID, Email: "admin@portal.example", Name: "Portal", LastName: "Admin", Active: true}}
	for i, src := range []string{"CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "RECOMMENDATION", "OTHER"} {
		d.addStatus("SOURCE", src, src, "", (i+1)*10, 0)
	}
	return d
}

func (d *store) addStatus(entityID, statusID, name, sem string, sort int, cat int64) *Status {
	d.nextStatus++
	st := &Status{ID: d.nextStatus, EntityID: entityID, StatusID: statusID, Name: name, Sort: sort, CategoryID: cat, Semantics: sem}
	d.statuses = append(d.statuses, st)
	return st
}

// stage finds a deal stage by id within the category's directory.
func (d *store) stage(categoryID int64, stageID string) *Status {
	ent := "DEAL_STAGE"
	if categoryID != 0 {
		ent = "DEAL_STAGE_" + strconv.FormatInt(categoryID, 10)
	}
	return d.status(ent, stageID)
}

func (d *store) status(entityID, statusID string) *Status {
	for _, st := range d.statuses {
		if st.EntityID == entityID && st.StatusID == statusID {
			return st
		}
	}
	return nil
}

func (d *store) firstStage(entityID string) *Status {
	var best *Status
	for _, st := range d.statuses {
		if st.EntityID == entityID && (best == nil || st.Sort < best.Sort) {
			best = st
		}
	}
	return best
}

func semanticID(st *Status) string {
	if st == nil || st.Semantics == "" {
		return "P"
	}
	return st.Semantics
}

func (d *store) nowString() string { return d.s.clock.Now().Format(dateTimeLayout) }

func (d *store) newID() int64 {
	d.nextID++
	return d.nextID
}
