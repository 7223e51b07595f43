package sync

import (
	"github.com/crmsync/crmsync/sync/config"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/texts"
)

// returnStatus reports an order status meaning a return: RetailCRM has no
// return group, so shops add a status such as "return" (in group cancel or
// a group of their own); its code, group or name says so.
func (r references) returnStatus(code, group string) bool {
	return looksReturned(code) || looksReturned(group) || looksReturned(r.dicts[dictStatuses][code].Name)
}

// productCancelled reports a product status that takes the line out of the
// order (cancelStatus: true, e.g. returned). Without the reference, a code
// naming a return counts.
func (r references) productCancelled(code string) bool {
	if code == "" {
		return false
	}
	if d, ok := r.dicts[dictProductStatuses]; ok {
		return d[code].CancelStatus
	}
	return looksReturned(code)
}

func looksReturned(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "return") || strings.Contains(s, "возврат")
}

// itemName names the line a history record refers to, from the current
// order (history records carry only the offer id).
func itemName(o *retailcrm.Order, r *retailcrm.HistoryRecord, txt *texts.Catalog) string {
	if r.Item == nil {
		return txt.Get(texts.AnItem)
	}
	for _, it := range o.Items {
		if it.ID == r.Item.ID {
			return lineName(it, txt)
		}
	}
	if r.Item.Offer != nil && r.Item.Offer.Name != "" {
		return strconv.Quote(clean(r.Item.Offer.Name))
	}
	return txt.F(texts.ItemID, r.Item.ID)
}

func lineName(it retailcrm.Item, txt *texts.Catalog) string {
	name := txt.F(texts.ItemID, it.ID)
	if it.Offer != nil {
		switch {
		case it.Offer.DisplayName != "":
			name = strconv.Quote(clean(it.Offer.DisplayName))
		case it.Offer.Name != "":
			name = strconv.Quote(clean(it.Offer.Name))
		}
	}
	if it.Quantity.IsPositive() && !it.Quantity.Equal(decimal.NewFromInt(1)) {
		name += " × " + it.Quantity.String()
	}
	return name
}

// returnedItems names the order's lines in a cancelled product status.
func returnedItems(o *retailcrm.Order, ref references, txt *texts.Catalog) []string {
	var out []string
	for _, it := range o.Items {
		if ref.productCancelled(it.Status) {
			out = append(out, lineName(it, txt))
		}
	}
	return out
}

// orderReturnItems names the lines an order-level return takes back: the
// lines in a cancelled product status, or every line when none is marked
// (the whole order came back).
func orderReturnItems(o *retailcrm.Order, ref references, txt *texts.Catalog) []string {
	if items := returnedItems(o, ref, txt); len(items) > 0 {
		return items
	}
	out := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		out = append(out, lineName(it, txt))
	}
	return out
}

// allReturned reports an order whose every line was taken back: it is a
// failed deal like a cancelled order.
func allReturned(o *retailcrm.Order, ref references) bool {
	if len(o.Items) == 0 {
		return false
	}
	for _, it := range o.Items {
		if !ref.productCancelled(it.Status) {
			return false
		}
	}
	return true
}

// failureStage is the stage the funnel maps the cancel group to (the
// deal's failure stage), or "" when none is mapped.
func failureStage(f config.Funnel) string {
	stage, ok := f.StageFor("", "cancel")
	if !ok {
		return ""
	}
	return stage
}
