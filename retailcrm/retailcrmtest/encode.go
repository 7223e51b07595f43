package retailcrmtest

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/shopspring/decimal"
)

// The encoders build the JSON the real service sends, by hand, because the
// shape depends on the context: /orders sends payments as an object keyed
// by id, history snapshots as an array; empty customFields are [].

type shape int

const (
	shapeList     shape = iota // /orders, /orders/{id}, edit answer
	shapeSnapshot              // full snapshot in a created history record
	// shapeSnapshotAPI is the full snapshot of an order made through the
	// API: its lines carry no offer and no VAT rate, as in the recorded
	// history (api-client-php OrdersTest::testHistory, orders 2031-2045).
	shapeSnapshotAPI
)

func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

func putStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// stringsJSON is an object of the non-empty strings among key, value
// pairs: the encoding of the blocks that hold only strings (the service
// omits an empty one).
func stringsJSON(kv ...string) map[string]any {
	m := make(map[string]any, len(kv)/2)
	putStrs(m, kv...)
	return m
}

// putStrs sets the non-empty strings among key, value pairs.
func putStrs(m map[string]any, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		putStr(m, kv[i], kv[i+1])
	}
}

// putID sets an id that the service omits when there is none.
func putID(m map[string]any, k string, v int64) {
	if v != 0 {
		m[k] = v
	}
}

// putObj sets the encoding of a block the service omits when there is none.
func putObj[T any](m map[string]any, k string, v *T, enc func(*T) map[string]any) {
	if v != nil {
		m[k] = enc(v)
	}
}

func putDate(m map[string]any, k string, v retailcrm.DateTime) {
	if !v.IsZero() {
		m[k] = v.String()
	}
}

func customFieldsJSON(c retailcrm.CustomFields) any {
	if len(c) == 0 {
		return []any{}
	}
	out := make(map[string]json.RawMessage, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

func customerJSON(c *retailcrm.Customer) map[string]any {
	typ := c.Type
	if typ == "" {
		typ = "customer"
	}
	m := map[string]any{
		"type":        typ,
		"id":          c.ID,
		"isContact":   false,
		"vip":         false,
		"bad":         false,
		"tags":        []any{},
		"ordersCount": c.OrdersCount,
		"totalSumm":   num(c.TotalSumm),
		"averageSumm": num(c.AverageSumm),
	}
	putStrs(m, "externalId", c.ExternalID, "site", c.Site, "firstName", c.FirstName, "lastName", c.LastName,
		"patronymic", c.Patronymic, "email", c.Email)
	putDate(m, "createdAt", c.CreatedAt)
	putID(m, "managerId", c.ManagerID)
	putStr(m, "nickName", c.NickName)
	putObj(m, "contragent", c.Contragent, contragentJSON)
	phones := make([]map[string]string, 0, len(c.Phones))
	for _, p := range c.Phones {
		phones = append(phones, map[string]string{"number": p.Number})
	}
	m["phones"] = phones
	m["customFields"] = customFieldsJSON(c.CustomFields)
	return m
}

func offerJSON(o *retailcrm.Offer) map[string]any {
	m := map[string]any{"id": o.ID}
	putStrs(m, "externalId", o.ExternalID, "xmlId", o.XMLID, "name", o.Name, "displayName", o.DisplayName,
		"article", o.Article, "vatRate", string(o.VATRate))
	if u := o.Unit; u != nil {
		m["unit"] = map[string]string{"code": u.Code, "name": u.Name, "sym": u.Sym}
	}
	return m
}

func itemJSON(it retailcrm.Item, sh shape) map[string]any {
	prices := make([]map[string]any, 0, len(it.Prices))
	for _, p := range it.Prices {
		prices = append(prices, map[string]any{"price": num(p.Price), "quantity": num(p.Quantity)})
	}
	m := map[string]any{
		"id":            it.ID,
		"initialPrice":  num(it.InitialPrice),
		"discountTotal": num(it.DiscountTotal),
		"quantity":      num(it.Quantity),
		"prices":        prices,
		"properties":    []any{},
	}
	putStr(m, "status", it.Status)
	putStr(m, "productName", it.ProductName)
	if sh != shapeSnapshotAPI {
		putStr(m, "vatRate", string(it.VATRate))
		putObj(m, "offer", it.Offer, offerJSON)
	}
	return m
}

func contragentJSON(c *retailcrm.Contragent) map[string]any {
	return stringsJSON("contragentType", c.Type, "legalName", c.LegalName, "legalAddress", c.LegalAddress,
		"INN", c.INN, "KPP", c.KPP, "OGRN", c.OGRN, "OGRNIP", c.OGRNIP, "OKPO", c.OKPO,
		"certificateNumber", c.CertificateNumber, "BIK", c.BIK, "bank", c.Bank,
		"bankAccount", c.BankAccount, "corrAccount", c.CorrAccount)
}

func addressJSON(a *retailcrm.Address) map[string]any {
	return stringsJSON("index", a.Index, "countryIso", a.CountryISO, "region", a.Region, "city", a.City,
		"street", a.Street, "building", a.Building, "flat", a.Flat, "text", a.Text, "notes", a.Notes)
}

func companyJSON(c *retailcrm.Company) map[string]any {
	m := map[string]any{"id": c.ID, "active": c.Active, "isMain": c.IsMain}
	putStrs(m, "externalId", c.ExternalID, "name", c.Name, "brand", c.Brand)
	putObj(m, "contragent", c.Contragent, contragentJSON)
	putObj(m, "address", c.Address, addressJSON)
	m["customFields"] = customFieldsJSON(c.CustomFields)
	return m
}

func sourceJSON(src *retailcrm.Source) map[string]any {
	return stringsJSON("source", src.Source, "medium", src.Medium, "campaign", src.Campaign,
		"keyword", src.Keyword, "content", src.Content)
}

func paymentJSON(p retailcrm.Payment) map[string]any {
	m := map[string]any{"id": p.ID, "amount": num(p.Amount)}
	putStrs(m, "type", p.Type, "status", p.Status, "externalId", p.ExternalID)
	putDate(m, "paidAt", p.PaidAt)
	return m
}

func deliveryJSON(d *retailcrm.Delivery) map[string]any {
	m := map[string]any{"cost": num(d.Cost), "netCost": num(d.NetCost)}
	putStr(m, "code", d.Code)
	putStr(m, "vatRate", string(d.VATRate))
	putDate(m, "date", d.Date)
	putObj(m, "address", d.Address, addressJSON)
	return m
}

// orderJSON encodes a full order in the given shape.
func orderJSON(o *retailcrm.Order, sh shape) map[string]any {
	m := map[string]any{
		"slug":               o.ID,
		"id":                 o.ID,
		"number":             o.Number,
		"site":               o.Site,
		"status":             o.Status,
		"summ":               num(o.Summ),
		"totalSumm":          num(o.TotalSumm),
		"prepaySum":          num(o.PrepaySum),
		"purchaseSumm":       num(o.PurchaseSumm),
		"bonusesCreditTotal": 0,
		"bonusesChargeTotal": 0,
		"call":               false,
		"expired":            false,
		"fromApi":            false,
	}
	putStrs(m, "externalId", o.ExternalID, "orderMethod", o.OrderMethod, "orderType", o.OrderType,
		"firstName", o.FirstName, "lastName", o.LastName, "patronymic", o.Patronymic, "phone", o.Phone,
		"email", o.Email, "customerComment", o.CustomerComment, "managerComment", o.ManagerComment)
	putDate(m, "createdAt", o.CreatedAt)
	putDate(m, "statusUpdatedAt", o.StatusUpdatedAt)
	putDate(m, "fullPaidAt", o.FullPaidAt)
	putObj(m, "source", o.Source, sourceJSON)
	putObj(m, "contragent", o.Contragent, contragentJSON)
	putObj(m, "company", o.Company, companyJSON)
	if sh == shapeList {
		// /orders carries currency and statusComment; snapshots do not.
		putStr(m, "currency", o.Currency)
		m["statusComment"] = o.StatusComment
	}
	putID(m, "managerId", o.ManagerID)
	putObj(m, "customer", o.Customer, customerJSON)
	if o.Contact != nil {
		m["contact"] = customerJSON(o.Contact)
	} else if o.Customer != nil && sh == shapeList && o.Customer.Type != retailcrm.CustomerTypeCorporate {
		m["contact"] = customerJSON(o.Customer)
	}
	items := make([]map[string]any, 0, len(o.Items))
	for _, it := range o.Items {
		items = append(items, itemJSON(it, sh))
	}
	m["items"] = items
	putObj(m, "delivery", o.Delivery, deliveryJSON)
	pays := append([]retailcrm.Payment(nil), o.Payments...)
	sort.Slice(pays, func(i, j int) bool { return pays[i].ID < pays[j].ID })
	if sh == shapeList {
		obj := make(map[string]any, len(pays))
		for _, p := range pays {
			obj[strconv.FormatInt(p.ID, 10)] = paymentJSON(p)
		}
		m["payments"] = obj
	} else if len(pays) > 0 {
		list := make([]map[string]any, 0, len(pays))
		for _, p := range pays {
			list = append(list, paymentJSON(p))
		}
		m["payments"] = list
	}
	m["customFields"] = customFieldsJSON(o.CustomFields)
	return m
}

// partialJSON is the snapshot of a non-create history record.
func partialJSON(o *retailcrm.Order) map[string]any {
	m := map[string]any{"id": o.ID, "site": o.Site, "status": o.Status}
	putStr(m, "externalId", o.ExternalID)
	putID(m, "managerId", o.ManagerID)
	return m
}

func partialCustomerJSON(c *retailcrm.Customer) map[string]any {
	m := map[string]any{"id": c.ID, "site": c.Site}
	putStr(m, "externalId", c.ExternalID)
	return m
}
