package bitrixtest

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkLists times the list methods crmsync's pull and push call most,
// straight on the handlers, as the portal grows: each should cost the same
// at 1,000 and at 100,000 rows.
//
//	go test -run '^$' -bench Lists ./bitrix/bitrixtest
func BenchmarkLists(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		s := bare()
		for i := range n {
			_, _ = s.data.add("deal", map[string]any{"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.Itoa(i + 1), "CONTACT_ID": strconv.Itoa(i + 1)})
			_, _ = s.data.add("contact", map[string]any{"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.Itoa(i + 1),
				"PHONE": []any{map[string]any{"VALUE": fmt.Sprintf("+7 900 %07d", i)}}, "EMAIL": []any{fmt.Sprintf("c%d@example.com", i)}})
			if i%10 == 0 {
				s.data.addComment("deal", int64(i+1), 1, "hello")
			}
		}
		origins := func(from int) []any {
			out := make([]any, 50)
			for i := range out {
				out[i] = strconv.Itoa((from+i*997)%n + 1)
			}
			return out
		}
		// page checks a deal list answered a full page.
		page := func(res *result, e *apiErr) error {
			if e != nil || len(res.value.([]any)) != 50 {
				return fmt.Errorf("%v %v", e, res)
			}
			return nil
		}
		// answered checks a method answered.
		answered := func(_ *result, e *apiErr) error {
			if e != nil {
				return errors.New(e.desc)
			}
			return nil
		}
		for _, bc := range []struct {
			name string
			call func(i int) error
		}{
			{"origin", func(i int) error {
				return page(s.entityList("deal", map[string]any{"filter": map[string]any{"ORIGINATOR_ID": "retailcrm", "@ORIGIN_ID": origins(i)},
					"select": []any{"*", "UF_*"}, "order": map[string]any{"ID": "ASC"}}))
			}},
			{"findbycomm", func(i int) error {
				vals := []any{fmt.Sprintf("79%09d", 900_0000000+i%n), fmt.Sprintf("c%d@example.com", i%n)}
				return answered(s.findByComm(map[string]any{"type": "PHONE", "values": vals, "entity_type": "CONTACT"}))
			}},
			{"cursor", func(i int) error {
				return page(s.entityList("deal", map[string]any{"filter": map[string]any{">ID": (i * 50) % (n - 50)},
					"select": []any{"ID"}, "order": map[string]any{"ID": "ASC"}, "start": 0}))
			}},
			{"history", func(i int) error {
				return answered(s.stageHistoryList(map[string]any{"entityTypeId": 2, "filter": map[string]any{">ID": 900 + (i*100)%n},
					"order": map[string]any{"ID": "ASC"}, "start": 0}))
			}},
			{"comments", func(i int) error {
				return answered(s.commentList(map[string]any{"filter": map[string]any{"ENTITY_ID": (i*10)%n + 1, "ENTITY_TYPE": "deal"},
					"order": map[string]any{"ID": "DESC"}}))
			}},
		} {
			b.Run(fmt.Sprintf("%s/rows=%d", bc.name, n), func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if err := bc.call(i); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
