package sync

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// An order's creation is recognised whichever of its records carries
// created: true: the created, method and repeat_purchase rules fire once,
// and the initial status is not commented as a change.
func TestCreationFlagOnAnyRecord(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"status", "order_method", "customer"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.useRetailCRM(retailcrmtest.Options{CreatedOn: field})
			e.cfg.Rules = ruleSet(t, []map[string]any{
				{"on": "created", "do": map[string]any{"comment": "Created {{.Number}}"}},
				{"on": "method:phone", "do": map[string]any{"comment": "By phone {{.Number}}"}},
				{"on": "repeat_purchase", "do": map[string]any{"comment": "Again {{.FirstName}}"}},
			})
			phone := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "50")
			phone.OrderMethod = "phone"
			o1 := e.rc.CreateOrder(phone)
			o2 := e.rc.CreateOrder(order(o1.Customer, "70"))
			e.pull()
			e.pull() // nothing fires twice
			var texts []string
			for _, c := range e.bx.Comments() {
				texts = append(texts, c.Comment)
			}
			got := strings.Join(texts, "|")
			for _, want := range []string{"Created " + o1.Number, "Created " + o2.Number, "By phone " + o1.Number, "Again Ann"} {
				if strings.Count(got, want) != 1 {
					t.Errorf("%q %d times in comments %q", want, strings.Count(got, want), got)
				}
			}
			if strings.Contains(got, "By phone "+o2.Number) || strings.Contains(got, "status changed") {
				t.Errorf("comments %q", got)
			}
		})
	}
}
