package bitrixtest

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// stageHistoryFields are the fields crm.stagehistory.list can filter and
// sort on, per entity type: the fields its items carry
// (b24restdocs:api-reference/crm/crm-stage-history-list.md, "Items
// Object"). That this is exactly the set the portal allows is UNCONFIRMED
// (the page lists the refusal, not the set); the fake refuses every other
// field, so a client cannot rely on one it does not document.
func stageHistoryFields(entityTypeID int64) []string {
	common := []string{"ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME"}
	if entityTypeID == 1 {
		return append(common, "STATUS_SEMANTIC_ID", "STATUS_ID")
	}
	return append(common, "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID")
}

// stageHistoryIntFields hold integers: a filter value that is not one is
// refused.
var stageHistoryIntFields = []string{"ID", "TYPE_ID", "OWNER_ID", "CATEGORY_ID"}

// checkStageHistoryQuery refuses a filter or order crm.stagehistory.list
// refuses, with the documented errors (400 INVALID_ARG_VALUE): a field not
// allowed in the filter or the order, a filter value of the wrong type, a
// sort direction other than ASC or DESC.
func checkStageHistoryQuery(entityTypeID int64, filter, order map[string]any) *apiErr {
	allowed := stageHistoryFields(entityTypeID)
	for _, key := range sortedKeys(filter) {
		if strings.EqualFold(key, "LOGIC") {
			continue
		}
		_, field := splitOp(key)
		if !slices.Contains(allowed, field) {
			return codeErr(400, "INVALID_ARG_VALUE", "Invalid filter: field '"+field+"' is not allowed in filter")
		}
		for _, v := range List(filter[key]) {
			if !validStageHistoryValue(field, Str(v)) {
				return codeErr(400, "INVALID_ARG_VALUE", "Invalid filter: field '"+field+"' has invalid value")
			}
		}
	}
	for _, field := range sortedKeys(order) {
		if !slices.Contains(allowed, field) {
			return codeErr(400, "INVALID_ARG_VALUE", "Invalid order: field '"+field+"' is not allowed in order")
		}
		if dir := Str(order[field]); dir != "ASC" && dir != "DESC" {
			return codeErr(400, "INVALID_ARG_VALUE", "Invalid order: allowed sort directions are ASC, DESC. But got '"+dir+"' for field '"+field+"'")
		}
	}
	return nil
}

func validStageHistoryValue(field, v string) bool {
	v = strings.TrimSpace(v)
	switch {
	case slices.Contains(stageHistoryIntFields, field):
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case field == "CREATED_TIME":
		_, ok := parseDateTime(v)
		return ok
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
