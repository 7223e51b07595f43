package bitrix

import (
	"fmt"
	"time"
)

// Deal and lead fields of what a deal carries (docs/api-notes.md, "Deal
// content").
const (
	// FieldBeginDate and FieldCloseDate are date-only (FormatDate); a
	// deal added without them starts on its creation day and closes seven
	// days later.
	FieldBeginDate = "BEGINDATE"
	FieldCloseDate = "CLOSEDATE"
	// FieldIsManualOpportunity "Y" keeps OPPORTUNITY as written; with "N"
	// a deal with product rows has its amount computed from them.
	FieldIsManualOpportunity = "IS_MANUAL_OPPORTUNITY"
	FieldUTMSource           = "UTM_SOURCE"
	FieldUTMMedium           = "UTM_MEDIUM"
	FieldUTMCampaign         = "UTM_CAMPAIGN"
	FieldUTMContent          = "UTM_CONTENT"
	FieldUTMTerm             = "UTM_TERM"
)

// Date reads a date-only field (see ParseDate).
func (r Record) Date(name string) (time.Time, error) { return ParseDate(r.String(name)) }

// EnumItem is one value of a list (enumeration) user field: crm.<e>.fields
// lists them as items [{ID, VALUE}], crm.<e>.userfield.list as LIST with
// SORT, DEF and XML_ID too. A deal stores the item's ID, not its VALUE.
type EnumItem struct {
	ID    ID
	Value string
	Sort  int
	Def   bool
	XMLID string
}

// UnmarshalJSON reads ids and sorts as numbers or strings.
func (e *EnumItem) UnmarshalJSON(b []byte) error {
	return fromRecord(b, e, func(r Record) (EnumItem, error) {
		sort, err := parseLooseInt(r["SORT"])
		if err != nil {
			return EnumItem{}, fmt.Errorf("bitrix: list item SORT: %w", err)
		}
		return EnumItem{ID: r.ID(), Value: r.String("VALUE"), Sort: int(sort), Def: r.Bool("DEF"), XMLID: r.String("XML_ID")}, nil
	})
}

// Items returns the values of a list (enumeration) user field as
// crm.<e>.userfield.list answers them (LIST); nil for other types.
func (u UserField) Items() ([]EnumItem, error) {
	return listOf[EnumItem](u.FieldName + " LIST")(u.Raw["LIST"])
}

// EnumItemID finds the item whose VALUE is value; ok is false when none is.
func EnumItemID(items []EnumItem, value string) (ID, bool) {
	for _, it := range items {
		if it.Value == value {
			return it.ID, true
		}
	}
	return 0, false
}
