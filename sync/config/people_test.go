package config

import (
	"strings"
	"testing"
)

// TestManagersAndDeletedStage: mapping.managers keeps its keys, gives the
// Bitrix24 user of a RetailCRM user, and refuses ids that are not positive
// numbers; mapping.deleted_stage defaults to the group:cancel stage.
func TestManagersAndDeletedStage(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "mapping:\n  managers: {\"14\": 40, \"15\": \"41\"}\n")
	if id, ok := cfg.Mapping.ManagerFor(14); !ok || id != 40 {
		t.Errorf("ManagerFor(14) = %d %v, want 40", id, ok)
	}
	if id, ok := cfg.Mapping.ManagerFor(16); ok {
		t.Errorf("ManagerFor(16) = %d, want none", id)
	}
	if got := cfg.Mapping.DeletedStageOr(); got != "LOSE" {
		t.Errorf("default deleted stage = %q, want LOSE (group:cancel)", got)
	}
	cfg = mustLoad(t, "bitrix: {category_id: 1}\nmapping:\n  statuses: {new: C1:NEW, group:cancel: C1:LOSE}\n  deleted_stage: C1:APOLOGY\n")
	if got := cfg.Mapping.DeletedStageOr(); got != "C1:APOLOGY" {
		t.Errorf("deleted stage = %q, want C1:APOLOGY", got)
	}
	_, err := load(t, "mapping:\n  managers: {abc: 40, \"15\": -1}\n  deleted_stage: C2:LOSE\n")
	if err == nil {
		t.Fatal("bad managers and deleted_stage loaded")
	}
	for _, want := range []string{"mapping.managers.abc: the key is not a RetailCRM user id", "mapping.managers.15: must be a Bitrix24 user id",
		"mapping.deleted_stage: names a stage of funnel 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
