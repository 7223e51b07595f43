package retailcrm

// Sources of history records.
const (
	SourceAPI     = "api"
	SourceUser    = "user"
	SourceCode    = "code"
	SourceRule    = "rule"
	SourceCombine = "combine"
	SourceSplit   = "split"
)

// Fields of order history records that concern payment (see
// docs/api-notes.md, "Order content").
const (
	FieldFullPaidAt     = "full_paid_at"     // oldValue/newValue: date-time string or null
	FieldPayments       = "payments"         // a payment added or removed: {id, type} or null
	FieldPaymentStatus  = "payments.status"  // {code} or null
	FieldPaymentPaidAt  = "payments.paid_at" // date-time string or null
	FieldPaymentAmount  = "payments.amount"  // number or null
	FieldPaymentType    = "payments.type"    // listed by RetailCRM's own module; value shape not seen
	FieldPaymentComment = "payments.comment" // string or null
	FieldPaymentExtID   = "payments.external_id"
)

// HistoryUser is the manager behind a source "user" record.
type HistoryUser struct {
	ID int64 `json:"id"`
}

// HistoryAPIKey says whether an "api" record was made with the key of the
// request that reads the history.
type HistoryAPIKey struct {
	Current bool `json:"current"`
}

// HistoryItem is the order line a order_product.* record refers to.
type HistoryItem struct {
	ID    int64  `json:"id"`
	Offer *Offer `json:"offer,omitempty"`
}

// HistoryChange is what every history record carries, whichever entity it
// concerns (orders, customers, corporate customers): the record's id, who
// made the change, the field and its values. The record types embed it and
// add their entity's snapshot.
type HistoryChange struct {
	ID        int64          `json:"id"`
	CreatedAt DateTime       `json:"createdAt"`
	Created   bool           `json:"created,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
	Source    string         `json:"source"`
	User      *HistoryUser   `json:"user,omitempty"`
	APIKey    *HistoryAPIKey `json:"apiKey,omitempty"`
	Field     string         `json:"field"`
	OldValue  Value          `json:"oldValue"`
	NewValue  Value          `json:"newValue"`
}

// RecordID returns the record's history id (the sinceId a walk goes on
// from): a method, so code generic over the record types reaches it.
func (r HistoryChange) RecordID() int64 { return r.ID }

// OwnChange reports a record made through the API with the current key,
// i.e. an echo of this client's own write.
func (r *HistoryChange) OwnChange() bool {
	return r.Source == SourceAPI && r.APIKey != nil && r.APIKey.Current
}

// HistoryRecord is one change of an order. Order is a full snapshot only on
// the record with Created set; otherwise it holds {id, externalId?,
// managerId, site, status}, status being the value after this record.
type HistoryRecord struct {
	HistoryChange
	Order      *Order       `json:"order,omitempty"`
	Item       *HistoryItem `json:"item,omitempty"`
	Payment    *Payment     `json:"payment,omitempty"`
	CombinedTo *Order       `json:"combinedTo,omitempty"`
}

// OrderID returns the id of the record's order, or 0.
func (r *HistoryRecord) OrderID() int64 {
	if r.Order == nil {
		return 0
	}
	return r.Order.ID
}

// CustomerHistoryRecord is one change of a customer.
type CustomerHistoryRecord struct {
	HistoryChange
	Customer   *Customer `json:"customer,omitempty"`
	CombinedTo *Customer `json:"combinedTo,omitempty"`
}

// HistoryPage is one answer of a history endpoint, R being the record type
// of its entity. The three histories page alike, so one type serves them.
type HistoryPage[R HistoryEntry] struct {
	GeneratedAt DateTime   `json:"generatedAt"`
	History     []R        `json:"history"`
	Pagination  Pagination `json:"pagination"`
}

// HistoryEntry is a record type of a history (HistoryRecord,
// CustomerHistoryRecord, CorporateHistoryRecord): it embeds HistoryChange.
type HistoryEntry interface{ RecordID() int64 }

// LastID returns the id of the page's last record (the next sinceId), or
// 0 for an empty page.
func (p *HistoryPage[R]) LastID() int64 {
	if len(p.History) == 0 {
		return 0
	}
	return p.History[len(p.History)-1].RecordID()
}

// Head is what a walk to the history head needs of the page.
func (p *HistoryPage[R]) Head() *HistoryHeadPage {
	return &HistoryHeadPage{Records: len(p.History), LastID: p.LastID(), GeneratedAt: p.GeneratedAt, Pages: p.Pagination.TotalPageCount}
}

// OrdersHistoryPage is one answer of /orders/history.
type OrdersHistoryPage = HistoryPage[HistoryRecord]

// CustomersHistoryPage is one answer of /customers/history.
type CustomersHistoryPage = HistoryPage[CustomerHistoryRecord]

// CorporateHistoryPage is one answer of /customers-corporate/history.
type CorporateHistoryPage = HistoryPage[CorporateHistoryRecord]
