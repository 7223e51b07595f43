package rules

import "testing"

// TestResponsibleManager: responsible_id: manager gives the task to the
// deal's responsible manager; other words are still refused.
func TestResponsibleManager(t *testing.T) {
	t.Parallel()
	rs, errs := parseYAML(t, "- on: created\n  do:\n    task: { title: Call, responsible_id: manager }\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if a := rs[0].Actions[0]; !a.ResponsibleManager || a.Responsible != 0 {
		t.Errorf("action %+v", a)
	}
	if _, errs := parseYAML(t, "- on: created\n  do:\n    task: { title: Call, responsible_id: Manager }\n"); len(errs) != 1 {
		t.Errorf("responsible_id: Manager: %v", errs)
	}
}
