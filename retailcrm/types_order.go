package retailcrm

import "github.com/shopspring/decimal"

// Order is a RetailCRM order as returned by /orders, /orders/{id}, the edit
// call and full history snapshots. Partial history snapshots fill only ID,
// ExternalID, ManagerID, Site and Status. Unknown fields are ignored.
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
}

// Phone is one entry of a customer's phones list.
type Phone struct {
	Number string `json:"number"`
}

// Item is an order line.
type Item struct {
	ID            int64           `json:"id"`
	InitialPrice  decimal.Decimal `json:"initialPrice"`
	DiscountTotal decimal.Decimal `json:"discountTotal"`
	Quantity      decimal.Decimal `json:"quantity"`
	Status        string          `json:"status,omitempty"`
	Prices        []ItemPrice     `json:"prices,omitempty"`
	Offer         *Offer          `json:"offer,omitempty"`
}

// ItemPrice is one price/quantity split of an order line.
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
}

// Delivery is an order's delivery block.
type Delivery struct {
	Code    string          `json:"code,omitempty"`
	Cost    decimal.Decimal `json:"cost"`
	NetCost decimal.Decimal `json:"netCost"`
	Date    DateTime        `json:"date"`
	Address *Address        `json:"address,omitempty"`
}

// Address is a delivery or customer address.
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

// Payment is one payment of an order, or the payment of a history record.
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
