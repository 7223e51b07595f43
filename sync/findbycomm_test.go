package sync

import (
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// A chunk of new customers carries more than 20 e-mails or phone variants.
// The portal looks up only the first 20 values of one
// crm.duplicate.findbycomm and drops the rest without an error, so every
// value past the 20th would miss its existing contact and a duplicate would
// be created: crmsync must split the values 20 per command.
func TestDuplicateSearchSplitsValuesTwentyPerCommand(t *testing.T) {
	const n = 30
	for _, tc := range []struct {
		name     string
		existing func(i int) map[string]any
		customer func(i int) *retailcrm.Customer
	}{
		{"e-mails",
			func(i int) map[string]any {
				return map[string]any{"NAME": "Known", "EMAIL": []string{fmt.Sprintf("known%02d@example.com", i)}}
			},
			func(i int) *retailcrm.Customer {
				return &retailcrm.Customer{FirstName: "Known", Email: fmt.Sprintf("KNOWN%02d@example.com", i)}
			}},
		{"phones",
			func(i int) map[string]any {
				return map[string]any{"NAME": "Known", "PHONE": []string{fmt.Sprintf("+7 915 000-00-%02d", i)}}
			},
			func(i int) *retailcrm.Customer {
				return &retailcrm.Customer{FirstName: "Known", Phones: []retailcrm.Phone{{Number: fmt.Sprintf("+7915000 00 %02d", i)}}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for i := range n {
				e.bx.SeedContact(tc.existing(i))
			}
			for i := range n {
				e.rc.CreateOrder(order(tc.customer(i), "10"))
			}
			before := e.bx.Stats().CommandsPerMethod["crm.duplicate.findbycomm"]
			res := e.pull()
			if p := res.Parked(); p != 0 {
				t.Fatalf("parked %d: %+v", p, res.Report.Parked)
			}
			if got := len(e.bx.Contacts()); got != n || res.Report.Summary.ContactsCreated != 0 {
				t.Errorf("%d contacts (%d created) for %d customers who all have one: duplicates of the values past the 20th",
					got, res.Report.Summary.ContactsCreated, n)
			}
			if cmds := e.bx.Stats().CommandsPerMethod["crm.duplicate.findbycomm"] - before; cmds < 2 {
				t.Errorf("%d findbycomm commands for more than 20 values", cmds)
			}
		})
	}
}
