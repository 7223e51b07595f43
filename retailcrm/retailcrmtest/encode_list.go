package retailcrmtest

import (
	"encoding/json"
	"strconv"

	"github.com/crmsync/crmsync/retailcrm"
)

// The /orders answer is the fake's largest: a page of 100 full orders. It
// is encoded through the structs below instead of orderJSON's maps, which
// cost a map per block and a key sort per map on every request. The bytes
// are the same (TestOrderListJSONMatchesMaps): each struct lists its keys in
// the sorted order json.Marshal gives a map, and omitempty on a string or
// an id is putStr / putDate / the managerId test.

type listContragent struct {
	BIK               string `json:"BIK,omitempty"`
	INN               string `json:"INN,omitempty"`
	KPP               string `json:"KPP,omitempty"`
	OGRN              string `json:"OGRN,omitempty"`
	OGRNIP            string `json:"OGRNIP,omitempty"`
	OKPO              string `json:"OKPO,omitempty"`
	Bank              string `json:"bank,omitempty"`
	BankAccount       string `json:"bankAccount,omitempty"`
	CertificateNumber string `json:"certificateNumber,omitempty"`
	ContragentType    string `json:"contragentType,omitempty"`
	CorrAccount       string `json:"corrAccount,omitempty"`
	LegalAddress      string `json:"legalAddress,omitempty"`
	LegalName         string `json:"legalName,omitempty"`
}

func listContragentOf(c *retailcrm.Contragent) *listContragent {
	if c == nil {
		return nil
	}
	return &listContragent{BIK: c.BIK, INN: c.INN, KPP: c.KPP, OGRN: c.OGRN, OGRNIP: c.OGRNIP, OKPO: c.OKPO,
		Bank: c.Bank, BankAccount: c.BankAccount, CertificateNumber: c.CertificateNumber, ContragentType: c.Type,
		CorrAccount: c.CorrAccount, LegalAddress: c.LegalAddress, LegalName: c.LegalName}
}

type listAddress struct {
	Building   string `json:"building,omitempty"`
	City       string `json:"city,omitempty"`
	CountryISO string `json:"countryIso,omitempty"`
	Flat       string `json:"flat,omitempty"`
	Index      string `json:"index,omitempty"`
	Notes      string `json:"notes,omitempty"`
	Region     string `json:"region,omitempty"`
	Street     string `json:"street,omitempty"`
	Text       string `json:"text,omitempty"`
}

func listAddressOf(a *retailcrm.Address) *listAddress {
	if a == nil {
		return nil
	}
	return &listAddress{Building: a.Building, City: a.City, CountryISO: a.CountryISO, Flat: a.Flat, Index: a.Index,
		Notes: a.Notes, Region: a.Region, Street: a.Street, Text: a.Text}
}

type listSource struct {
	Campaign string `json:"campaign,omitempty"`
	Content  string `json:"content,omitempty"`
	Keyword  string `json:"keyword,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Source   string `json:"source,omitempty"`
}

type listPhone struct {
	Number string `json:"number"`
}

type listCustomer struct {
	AverageSumm  json.Number     `json:"averageSumm"`
	Bad          bool            `json:"bad"`
	Contragent   *listContragent `json:"contragent,omitempty"`
	CreatedAt    string          `json:"createdAt,omitempty"`
	CustomFields any             `json:"customFields"`
	Email        string          `json:"email,omitempty"`
	ExternalID   string          `json:"externalId,omitempty"`
	FirstName    string          `json:"firstName,omitempty"`
	ID           int64           `json:"id"`
	IsContact    bool            `json:"isContact"`
	LastName     string          `json:"lastName,omitempty"`
	ManagerID    int64           `json:"managerId,omitempty"`
	NickName     string          `json:"nickName,omitempty"`
	OrdersCount  int64           `json:"ordersCount"`
	Patronymic   string          `json:"patronymic,omitempty"`
	Phones       []listPhone     `json:"phones"`
	Site         string          `json:"site,omitempty"`
	Tags         []struct{}      `json:"tags"`
	TotalSumm    json.Number     `json:"totalSumm"`
	Type         string          `json:"type"`
	Vip          bool            `json:"vip"`
}

func listCustomerOf(c *retailcrm.Customer) *listCustomer {
	if c == nil {
		return nil
	}
	typ := c.Type
	if typ == "" {
		typ = "customer"
	}
	phones := make([]listPhone, 0, len(c.Phones))
	for _, p := range c.Phones {
		phones = append(phones, listPhone{p.Number})
	}
	return &listCustomer{AverageSumm: num(c.AverageSumm), Contragent: listContragentOf(c.Contragent),
		CreatedAt: dateText(c.CreatedAt), CustomFields: customFieldsJSON(c.CustomFields), Email: c.Email,
		ExternalID: c.ExternalID, FirstName: c.FirstName, ID: c.ID, LastName: c.LastName, ManagerID: c.ManagerID,
		NickName: c.NickName, OrdersCount: c.OrdersCount, Patronymic: c.Patronymic, Phones: phones, Site: c.Site,
		Tags: []struct{}{}, TotalSumm: num(c.TotalSumm), Type: typ}
}

type listUnit struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Sym  string `json:"sym"`
}

type listOffer struct {
	Article     string    `json:"article,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	ExternalID  string    `json:"externalId,omitempty"`
	ID          int64     `json:"id"`
	Name        string    `json:"name,omitempty"`
	Unit        *listUnit `json:"unit,omitempty"`
	VATRate     string    `json:"vatRate,omitempty"`
	XMLID       string    `json:"xmlId,omitempty"`
}

type listPrice struct {
	Price    json.Number `json:"price"`
	Quantity json.Number `json:"quantity"`
}

type listItem struct {
	DiscountTotal json.Number `json:"discountTotal"`
	ID            int64       `json:"id"`
	InitialPrice  json.Number `json:"initialPrice"`
	Offer         *listOffer  `json:"offer,omitempty"`
	Prices        []listPrice `json:"prices"`
	ProductName   string      `json:"productName,omitempty"`
	Properties    []struct{}  `json:"properties"`
	Quantity      json.Number `json:"quantity"`
	Status        string      `json:"status,omitempty"`
	VATRate       string      `json:"vatRate,omitempty"`
}

func listItemOf(it *retailcrm.Item) listItem {
	prices := make([]listPrice, 0, len(it.Prices))
	for _, p := range it.Prices {
		prices = append(prices, listPrice{num(p.Price), num(p.Quantity)})
	}
	out := listItem{DiscountTotal: num(it.DiscountTotal), ID: it.ID, InitialPrice: num(it.InitialPrice), Prices: prices,
		ProductName: it.ProductName, Properties: []struct{}{}, Quantity: num(it.Quantity), Status: it.Status,
		VATRate: string(it.VATRate)}
	if o := it.Offer; o != nil {
		out.Offer = &listOffer{Article: o.Article, DisplayName: o.DisplayName, ExternalID: o.ExternalID, ID: o.ID,
			Name: o.Name, VATRate: string(o.VATRate), XMLID: o.XMLID}
		if u := o.Unit; u != nil {
			out.Offer.Unit = &listUnit{u.Code, u.Name, u.Sym}
		}
	}
	return out
}

type listCompany struct {
	Active       bool            `json:"active"`
	Address      *listAddress    `json:"address,omitempty"`
	Brand        string          `json:"brand,omitempty"`
	Contragent   *listContragent `json:"contragent,omitempty"`
	CustomFields any             `json:"customFields"`
	ExternalID   string          `json:"externalId,omitempty"`
	ID           int64           `json:"id"`
	IsMain       bool            `json:"isMain"`
	Name         string          `json:"name,omitempty"`
}

type listDelivery struct {
	Address *listAddress `json:"address,omitempty"`
	Code    string       `json:"code,omitempty"`
	Cost    json.Number  `json:"cost"`
	Date    string       `json:"date,omitempty"`
	NetCost json.Number  `json:"netCost"`
	VATRate string       `json:"vatRate,omitempty"`
}

type listPayment struct {
	Amount     json.Number `json:"amount"`
	ExternalID string      `json:"externalId,omitempty"`
	ID         int64       `json:"id"`
	PaidAt     string      `json:"paidAt,omitempty"`
	Status     string      `json:"status,omitempty"`
	Type       string      `json:"type,omitempty"`
}

type listOrder struct {
	BonusesChargeTotal int                    `json:"bonusesChargeTotal"`
	BonusesCreditTotal int                    `json:"bonusesCreditTotal"`
	Call               bool                   `json:"call"`
	Company            *listCompany           `json:"company,omitempty"`
	Contact            *listCustomer          `json:"contact,omitempty"`
	Contragent         *listContragent        `json:"contragent,omitempty"`
	CreatedAt          string                 `json:"createdAt,omitempty"`
	Currency           string                 `json:"currency,omitempty"`
	CustomFields       any                    `json:"customFields"`
	Customer           *listCustomer          `json:"customer,omitempty"`
	CustomerComment    string                 `json:"customerComment,omitempty"`
	Delivery           *listDelivery          `json:"delivery,omitempty"`
	Email              string                 `json:"email,omitempty"`
	Expired            bool                   `json:"expired"`
	ExternalID         string                 `json:"externalId,omitempty"`
	FirstName          string                 `json:"firstName,omitempty"`
	FromAPI            bool                   `json:"fromApi"`
	FullPaidAt         string                 `json:"fullPaidAt,omitempty"`
	ID                 int64                  `json:"id"`
	Items              []listItem             `json:"items"`
	LastName           string                 `json:"lastName,omitempty"`
	ManagerComment     string                 `json:"managerComment,omitempty"`
	ManagerID          int64                  `json:"managerId,omitempty"`
	Number             string                 `json:"number"`
	OrderMethod        string                 `json:"orderMethod,omitempty"`
	OrderType          string                 `json:"orderType,omitempty"`
	Patronymic         string                 `json:"patronymic,omitempty"`
	Payments           map[string]listPayment `json:"payments"`
	Phone              string                 `json:"phone,omitempty"`
	PrepaySum          json.Number            `json:"prepaySum"`
	PurchaseSumm       json.Number            `json:"purchaseSumm"`
	Site               string                 `json:"site"`
	Slug               int64                  `json:"slug"`
	Source             *listSource            `json:"source,omitempty"`
	Status             string                 `json:"status"`
	StatusComment      string                 `json:"statusComment"`
	StatusUpdatedAt    string                 `json:"statusUpdatedAt,omitempty"`
	Summ               json.Number            `json:"summ"`
	TotalSumm          json.Number            `json:"totalSumm"`
}

func dateText(v retailcrm.DateTime) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

// orderListJSON is orderJSON(o, shapeList) as structs.
func orderListJSON(o *retailcrm.Order) *listOrder {
	m := &listOrder{
		Contragent: listContragentOf(o.Contragent), CreatedAt: dateText(o.CreatedAt), Currency: o.Currency,
		CustomFields: customFieldsJSON(o.CustomFields), Customer: listCustomerOf(o.Customer),
		CustomerComment: o.CustomerComment, Email: o.Email, ExternalID: o.ExternalID, FirstName: o.FirstName,
		FullPaidAt: dateText(o.FullPaidAt), ID: o.ID, LastName: o.LastName, ManagerComment: o.ManagerComment,
		ManagerID: o.ManagerID, Number: o.Number, OrderMethod: o.OrderMethod, OrderType: o.OrderType,
		Patronymic: o.Patronymic, Phone: o.Phone, PrepaySum: num(o.PrepaySum), PurchaseSumm: num(o.PurchaseSumm),
		Site: o.Site, Slug: o.ID, Status: o.Status, StatusComment: o.StatusComment,
		StatusUpdatedAt: dateText(o.StatusUpdatedAt), Summ: num(o.Summ), TotalSumm: num(o.TotalSumm),
	}
	if src := o.Source; src != nil {
		m.Source = &listSource{Campaign: src.Campaign, Content: src.Content, Keyword: src.Keyword, Medium: src.Medium,
			Source: src.Source}
	}
	if c := o.Company; c != nil {
		m.Company = &listCompany{Active: c.Active, Address: listAddressOf(c.Address), Brand: c.Brand,
			Contragent: listContragentOf(c.Contragent), CustomFields: customFieldsJSON(c.CustomFields),
			ExternalID: c.ExternalID, ID: c.ID, IsMain: c.IsMain, Name: c.Name}
	}
	if o.Contact != nil {
		m.Contact = listCustomerOf(o.Contact)
	} else if o.Customer != nil && o.Customer.Type != retailcrm.CustomerTypeCorporate {
		m.Contact = m.Customer
	}
	m.Items = make([]listItem, 0, len(o.Items))
	for i := range o.Items {
		m.Items = append(m.Items, listItemOf(&o.Items[i]))
	}
	if d := o.Delivery; d != nil {
		m.Delivery = &listDelivery{Address: listAddressOf(d.Address), Code: d.Code, Cost: num(d.Cost),
			Date: dateText(d.Date), NetCost: num(d.NetCost), VATRate: string(d.VATRate)}
	}
	m.Payments = make(map[string]listPayment, len(o.Payments))
	for _, p := range o.Payments {
		m.Payments[strconv.FormatInt(p.ID, 10)] = listPayment{Amount: num(p.Amount), ExternalID: p.ExternalID, ID: p.ID,
			PaidAt: dateText(p.PaidAt), Status: p.Status, Type: p.Type}
	}
	return m
}
