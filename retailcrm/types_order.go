package retailcrm

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

// Order is a RetailCRM order as returned by /orders, /orders/{id}, the edit
// call and full history snapshots. Partial history snapshots fill only ID,
// ExternalID, ManagerID, Site and Status. Unknown fields are ignored by the
// typed fields but kept in Raw. See docs/api-notes.md, "Order content", for
// what each field means and where that is documented.
type Order struct {
	ID              int64           `json:"id"`
	ExternalID      string          `json:"externalId,omitempty"`
	Number          string          `json:"number,omitempty"`
	Site            string          `json:"site,omitempty"`
	Status          string          `json:"status,omitempty"`
	StatusComment   string          `json:"statusComment,omitempty"`
	StatusUpdatedAt DateTime        `json:"statusUpdatedAt"`
	CreatedAt       DateTime        `json:"createdAt"`
	OrderMethod     string          `json:"orderMethod,omitempty"`
	OrderType       string          `json:"orderType,omitempty"`
	FirstName       string          `json:"firstName,omitempty"`
	LastName        string          `json:"lastName,omitempty"`
	Patronymic      string          `json:"patronymic,omitempty"`
	Phone           string          `json:"phone,omitempty"`
	Email           string          `json:"email,omitempty"`
	CustomerComment string          `json:"customerComment,omitempty"`
	ManagerComment  string          `json:"managerComment,omitempty"`
	ManagerID       int64           `json:"managerId,omitempty"`
	Currency        string          `json:"currency,omitempty"`
	Summ            decimal.Decimal `json:"summ"`
	TotalSumm       decimal.Decimal `json:"totalSumm"`
	PrepaySum       decimal.Decimal `json:"prepaySum"`
	PurchaseSumm    decimal.Decimal `json:"purchaseSumm"`
	Customer        *Customer       `json:"customer,omitempty"`
	Contact         *Customer       `json:"contact,omitempty"`
	Items           []Item          `json:"items,omitempty"`
	Delivery        *Delivery       `json:"delivery,omitempty"`
	Payments        Payments        `json:"payments,omitempty"`
	CustomFields    CustomFields    `json:"customFields,omitempty"`
	Deleted         bool            `json:"deleted,omitempty"`

	// FullPaidAt is set while the order is fully paid (its paid payments
	// cover the total) and cleared when that stops being so.
	FullPaidAt DateTime    `json:"fullPaidAt"`
	Source     *Source     `json:"source,omitempty"`
	Company    *Company    `json:"company,omitempty"`
	Contragent *Contragent `json:"contragent,omitempty"`

	// Raw is the order's JSON exactly as RetailCRM sent it, set by
	// UnmarshalJSON, so that configured paths (Lookup) read every field,
	// typed here or not. It is never encoded.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the typed fields and keeps a copy of the document
// in Raw.
func (o *Order) UnmarshalJSON(b []byte) error {
	type plain Order // without this method
	if err := json.Unmarshal(b, (*plain)(o)); err != nil {
		return err
	}
	o.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// FullyPaid reports whether RetailCRM marks the order fully paid.
func (o *Order) FullyPaid() bool { return !o.FullPaidAt.IsZero() }

// Source is the order's attribution (UTM tags and the like).
type Source struct {
	Source   string `json:"source,omitempty"`   // utm_source
	Medium   string `json:"medium,omitempty"`   // utm_medium
	Campaign string `json:"campaign,omitempty"` // utm_campaign
	Keyword  string `json:"keyword,omitempty"`  // utm_term
	Content  string `json:"content,omitempty"`  // utm_content
}

// UnmarshalJSON accepts an object, [] (empty) or null; values written as
// numbers are kept as their literal.
func (s *Source) UnmarshalJSON(b []byte) error {
	var w struct {
		Source, Medium, Campaign, Keyword, Content flexString
	}
	if err := decodeLenient(b, &w, "source"); err != nil {
		return err
	}
	*s = Source{Source: string(w.Source), Medium: string(w.Medium), Campaign: string(w.Campaign),
		Keyword: string(w.Keyword), Content: string(w.Content)}
	return nil
}

// Contragent types (contragentType); the API spells the sole trader
// "enterpreneur".
const (
	ContragentIndividual   = "individual"
	ContragentLegalEntity  = "legal-entity"
	ContragentEnterpreneur = "enterpreneur"
)

// Contragent is the legal details of an order's buyer, or of a corporate
// customer's company.
type Contragent struct {
	Type              string `json:"contragentType,omitempty"`
	LegalName         string `json:"legalName,omitempty"`
	LegalAddress      string `json:"legalAddress,omitempty"`
	INN               string `json:"INN,omitempty"`
	KPP               string `json:"KPP,omitempty"`
	OGRN              string `json:"OGRN,omitempty"`
	OGRNIP            string `json:"OGRNIP,omitempty"`
	OKPO              string `json:"OKPO,omitempty"`
	CertificateNumber string `json:"certificateNumber,omitempty"`
	BIK               string `json:"BIK,omitempty"`
	Bank              string `json:"bank,omitempty"`
	BankAccount       string `json:"bankAccount,omitempty"`
	CorrAccount       string `json:"corrAccount,omitempty"`
}

// UnmarshalJSON accepts an object, [] or null; codes written as numbers
// (an INN without quotes) are kept as their literal.
func (c *Contragent) UnmarshalJSON(b []byte) error {
	var w struct {
		ContragentType, LegalName, LegalAddress flexString
		INN                                     flexString `json:"INN"`
		KPP                                     flexString `json:"KPP"`
		OGRN                                    flexString `json:"OGRN"`
		OGRNIP                                  flexString `json:"OGRNIP"`
		OKPO                                    flexString `json:"OKPO"`
		CertificateNumber                       flexString
		BIK                                     flexString `json:"BIK"`
		Bank, BankAccount, CorrAccount          flexString
	}
	if err := decodeLenient(b, &w, "contragent"); err != nil {
		return err
	}
	*c = Contragent{Type: string(w.ContragentType), LegalName: string(w.LegalName),
		LegalAddress: string(w.LegalAddress), INN: string(w.INN), KPP: string(w.KPP), OGRN: string(w.OGRN),
		OGRNIP: string(w.OGRNIP), OKPO: string(w.OKPO), CertificateNumber: string(w.CertificateNumber),
		BIK: string(w.BIK), Bank: string(w.Bank), BankAccount: string(w.BankAccount), CorrAccount: string(w.CorrAccount)}
	return nil
}

// Company is the company of a corporate customer's order.
type Company struct {
	ID           int64        `json:"id"`
	ExternalID   string       `json:"externalId,omitempty"`
	Name         string       `json:"name,omitempty"`
	Brand        string       `json:"brand,omitempty"`
	Active       bool         `json:"active,omitempty"`
	IsMain       bool         `json:"isMain,omitempty"`
	Contragent   *Contragent  `json:"contragent,omitempty"`
	Address      *Address     `json:"address,omitempty"`
	CustomFields CustomFields `json:"customFields,omitempty"`

	// Site is the company's web address (recorded "https://example.com"),
	// not a store code. Customer, the corporate customer {id, externalId,
	// site, type}, comes with /customers-corporate/{id}/companies.
	Site      string    `json:"site,omitempty"`
	CreatedAt DateTime  `json:"createdAt"`
	Customer  *Customer `json:"customer,omitempty"`
}

// UnmarshalJSON accepts an object, [] or null.
func (c *Company) UnmarshalJSON(b []byte) error {
	type plain Company // without this method
	return decodeLenient(b, (*plain)(c), "company")
}

// Customer is a customer or a corporate order's contact person.
type Customer struct {
	Type         string          `json:"type,omitempty"`
	ID           int64           `json:"id"`
	ExternalID   string          `json:"externalId,omitempty"`
	Site         string          `json:"site,omitempty"`
	FirstName    string          `json:"firstName,omitempty"`
	LastName     string          `json:"lastName,omitempty"`
	Patronymic   string          `json:"patronymic,omitempty"`
	Email        string          `json:"email,omitempty"`
	Phones       []Phone         `json:"phones,omitempty"`
	ManagerID    int64           `json:"managerId,omitempty"`
	CreatedAt    DateTime        `json:"createdAt"`
	OrdersCount  int64           `json:"ordersCount,omitempty"`
	TotalSumm    decimal.Decimal `json:"totalSumm"`
	AverageSumm  decimal.Decimal `json:"averageSumm"`
	CustomFields CustomFields    `json:"customFields,omitempty"`

	// NickName is the name of a corporate customer (Type
	// CustomerTypeCorporate), which has no person's name.
	NickName   string      `json:"nickName,omitempty"`
	Contragent *Contragent `json:"contragent,omitempty"`
}

// Phone is one entry of a customer's phones list.
type Phone struct {
	Number string `json:"number"`
}

// Item is an order line. InitialPrice is the catalogue price of one unit,
// DiscountTotal the money discount on one unit from every source (the
// line's and the order's discounts, loyalty, rounding), Status a code of
// reference/product-statuses. Offer is nil in the full snapshots of history
// records of orders made through the API: read the order itself for it.
type Item struct {
	ID            int64           `json:"id"`
	InitialPrice  decimal.Decimal `json:"initialPrice"`
	DiscountTotal decimal.Decimal `json:"discountTotal"`
	Quantity      decimal.Decimal `json:"quantity"`
	Status        string          `json:"status,omitempty"`
	Prices        []ItemPrice     `json:"prices,omitempty"`
	Offer         *Offer          `json:"offer,omitempty"`

	// VATRate is the line's VAT rate: a percentage, "none", or "" when the
	// answer has none.
	VATRate VATRate `json:"vatRate,omitempty"`
	// ProductName is the line's own name; lines of a catalogue offer may
	// carry only the offer's.
	ProductName string `json:"productName,omitempty"`
}

// UnitPrice is what one unit costs the buyer: InitialPrice - DiscountTotal.
func (it *Item) UnitPrice() decimal.Decimal { return it.InitialPrice.Sub(it.DiscountTotal) }

// Name is the line's name: the offer's name, else its display name, else
// the line's own product name ("" when none).
func (it *Item) Name() string {
	if it.Offer != nil {
		if it.Offer.Name != "" {
			return it.Offer.Name
		}
		if it.Offer.DisplayName != "" {
			return it.Offer.DisplayName
		}
	}
	return it.ProductName
}

// ItemPrice is one price/quantity split of an order line: the final unit
// price after every discount, and how many units sold at it.
type ItemPrice struct {
	Price    decimal.Decimal `json:"price"`
	Quantity decimal.Decimal `json:"quantity"`
}

// Offer is the catalogue offer of an order line.
type Offer struct {
	ID          int64  `json:"id"`
	ExternalID  string `json:"externalId,omitempty"`
	XMLID       string `json:"xmlId,omitempty"`
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Article     string `json:"article,omitempty"`
	// VATRate is the catalogue's rate; the line's own Item.VATRate is the
	// one that applies.
	VATRate VATRate `json:"vatRate,omitempty"`
	Unit    *Unit   `json:"unit,omitempty"`
}

// Unit is an offer's unit of measure, e.g. {pc, Штука, шт.}.
type Unit struct {
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
	Sym  string `json:"sym,omitempty"`
}

// UnmarshalJSON accepts an object, [] or null.
func (u *Unit) UnmarshalJSON(b []byte) error {
	type plain Unit // without this method
	return decodeLenient(b, (*plain)(u), "unit")
}

// Delivery is an order's delivery block: Code is a code of
// reference/delivery-types, Cost what the buyer pays for delivery, NetCost
// what it costs the shop.
type Delivery struct {
	Code    string          `json:"code,omitempty"`
	Cost    decimal.Decimal `json:"cost"`
	NetCost decimal.Decimal `json:"netCost"`
	Date    DateTime        `json:"date"`
	Address *Address        `json:"address,omitempty"`
	VATRate VATRate         `json:"vatRate,omitempty"`
}

// Address is a delivery or customer address; Text is the address as one
// line of text.
type Address struct {
	Index      string `json:"index,omitempty"`
	CountryISO string `json:"countryIso,omitempty"`
	Region     string `json:"region,omitempty"`
	City       string `json:"city,omitempty"`
	Street     string `json:"street,omitempty"`
	Building   string `json:"building,omitempty"`
	Flat       string `json:"flat,omitempty"`
	Text       string `json:"text,omitempty"`
	Notes      string `json:"notes,omitempty"`
}

// UnmarshalJSON accepts an object, [] or null.
func (a *Address) UnmarshalJSON(b []byte) error {
	type plain Address // without this method
	return decodeLenient(b, (*plain)(a), "address")
}

// Payment is one payment of an order, or the payment of a history record.
// Type is a code of reference/payment-types, Status one of
// reference/payment-statuses (paymentComplete says it counts as paid).
type Payment struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type,omitempty"`
	Status     string          `json:"status,omitempty"`
	Amount     decimal.Decimal `json:"amount"`
	PaidAt     DateTime        `json:"paidAt"`
	ExternalID string          `json:"externalId,omitempty"`
}

// Pagination is the paging block of list and history answers. For history
// walked by sinceId, TotalCount is only a backlog estimate.
type Pagination struct {
	Limit          int   `json:"limit"`
	TotalCount     int64 `json:"totalCount"`
	CurrentPage    int   `json:"currentPage"`
	TotalPageCount int   `json:"totalPageCount"`
}

// OrderStatus is one entry of /orders/statuses.
type OrderStatus struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"externalId,omitempty"`
	Status     string `json:"status"`
	Group      string `json:"group"`
}
