package bitrix_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

const fixtureDir = "../testdata/bitrix"

// serveFixture answers every request with the named fixture and status.
func serveFixture(t *testing.T, dir, name string, status int) (*bitrix.Client, *httptest.Server) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return serveBytes(t, body, status)
}

func serveBytes(t *testing.T, body []byte, status int) (*bitrix.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := bitrix.New(srv.URL+"/rest/1/fixturesecret/", bitrix.WithClock(bitrixtest.NewClock(time.Time{})),
		bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// runFixtureCases checks every client method against a documented body.
func runFixtureCases(t *testing.T, dir string) {
	ctx := context.Background()
	type tc struct {
		file   string
		status int
		check  func(t *testing.T, c *bitrix.Client)
	}
	wantErr := func(target error, call func(c *bitrix.Client) error) func(t *testing.T, c *bitrix.Client) {
		return func(t *testing.T, c *bitrix.Client) {
			err := call(c)
			if !errors.Is(err, target) {
				t.Fatalf("err = %v, want %v", err, target)
			}
		}
	}
	cases := []tc{
		{"crm_deal_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
			if err != nil || id != 394 {
				t.Fatalf("id %d err %v", id, err)
			}
		}},
		{"crm_deal_update.json", 200, func(t *testing.T, c *bitrix.Client) {
			if err := c.Update(ctx, bitrix.EntityDeal, 1, bitrix.Fields{"TITLE": "x"}, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"crm_deal_get.json", 200, func(t *testing.T, c *bitrix.Client) {
			d, err := c.Get(ctx, bitrix.EntityDeal, 410)
			if err != nil {
				t.Fatal(err)
			}
			if d.ID() != 410 || d.String("OPPORTUNITY") != "1000000.00" || d.String("ORIGIN_ID") != "" || d.Bool("IS_RETURN_CUSTOMER") || d.IDField("CONTACT_ID") != 84 {
				t.Fatalf("deal %v", d)
			}
			if f, ok := d.Float("OPPORTUNITY"); !ok || f != 1000000 {
				t.Fatalf("opportunity %v %v", f, ok)
			}
		}},
		{"crm_deal_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			p, err := c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
			if err != nil || len(p.Rows) != 6 || p.Total != 6 || p.HasNext {
				t.Fatalf("page %+v err %v", p, err)
			}
			if p.Rows[0].String("STAGE_ID") != "C1:NEW" || p.Rows[0].IDField("CATEGORY_ID") != 1 {
				t.Fatalf("row %v", p.Rows[0])
			}
		}},
		{"crm_deal_list_error.json", 400, wantErr(bitrix.ErrBadRequest, func(c *bitrix.Client) error {
			_, err := c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
			return err
		})},
		{"crm_deal_add_error.json", 400, wantErr(bitrix.ErrValidation, func(c *bitrix.Client) error {
			_, err := c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{}, nil)
			return err
		})},
		{"crm_contact_update_error.json", 400, wantErr(bitrix.ErrNotFound, func(c *bitrix.Client) error {
			return c.Update(ctx, bitrix.EntityContact, 9, bitrix.Fields{"NAME": "x"}, nil)
		})},
		{"crm_contact_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			if id, err := c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "x"}, nil); err != nil || id == 0 {
				t.Fatal(id, err)
			}
		}},
		{"crm_contact_update.json", 200, func(t *testing.T, c *bitrix.Client) {
			if err := c.Update(ctx, bitrix.EntityContact, 1, bitrix.Fields{"NAME": "x"}, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"crm_contact_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			p, err := c.List(ctx, bitrix.EntityContact, bitrix.ListRequest{Select: []string{"ID", "EMAIL"}})
			if err != nil || len(p.Rows) != 5 {
				t.Fatal(p, err)
			}
			m := p.Rows[0].Multi("EMAIL")
			if len(m) != 1 || m[0].ID != 215 || m[0].Value != "special-for@example.com" || m[0].TypeID != "EMAIL" {
				t.Fatalf("multi %+v", m)
			}
		}},
		{"crm_lead_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "x"}, nil)
			if err != nil || id != 3465 {
				t.Fatal(id, err)
			}
			op, reset, _ := c.OperatingTime("crm.lead.add")
			if op < 3.3 || reset.Unix() != 1705765533 {
				t.Fatalf("operating %v reset %v", op, reset)
			}
		}},
		{"crm_duplicate_findbycomm.json", 200, func(t *testing.T, c *bitrix.Client) {
			m, err := c.FindByComm(ctx, bitrix.CommEmail, []string{"a@b.c"}, "CONTACT")
			if err != nil || len(m["CONTACT"]) != 2 || m["CONTACT"][0] != 275 {
				t.Fatal(m, err)
			}
		}},
		{"crm_duplicate_findbycomm_error.json", 400, func(t *testing.T, c *bitrix.Client) {
			_, err := c.FindByComm(ctx, bitrix.CommEmail, []string{"a@b.c"}, "CONTACT")
			var ae *bitrix.APIError
			if !errors.As(err, &ae) || ae.Code != "Communication type is not defined" || !errors.Is(err, bitrix.ErrBadRequest) {
				t.Fatalf("err %v", err)
			}
		}},
		{"crm_status_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			st, err := c.StatusList(ctx, map[string]any{"ENTITY_ID": "DEAL_STAGE"})
			if err != nil || len(st) != 8 {
				t.Fatal(st, err)
			}
			sem := map[string]string{}
			for _, s := range st {
				sem[s.StatusID] = s.Semantics
			}
			if sem["WON"] != "S" || sem["LOSE"] != "F" || sem["NEW"] != "" {
				t.Fatalf("semantics %v", sem)
			}
		}},
		{"crm_category_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			cs, err := c.CategoryList(ctx, bitrix.EntityTypeDeal)
			if err != nil || len(cs) != 4 || !cs[3].IsDefault || cs[3].ID != 0 || cs[0].ID != 9 {
				t.Fatalf("%+v %v", cs, err)
			}
		}},
		{"crm_stagehistory_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			p, err := c.StageHistoryList(ctx, bitrix.EntityTypeDeal, bitrix.ListRequest{})
			if err != nil || len(p.Rows) != 1 || p.Rows[0].ID != 35 || p.Rows[0].OwnerID != 21 || p.Rows[0].StageID != "NEW" {
				t.Fatalf("%+v %v", p, err)
			}
		}},
		{"crm_stagehistory_list_error.json", 400, func(t *testing.T, c *bitrix.Client) {
			_, err := c.StageHistoryList(ctx, 31, bitrix.ListRequest{})
			var ae *bitrix.APIError
			if !errors.As(err, &ae) || ae.Code != "0" || !errors.Is(err, bitrix.ErrBadRequest) {
				t.Fatalf("err %v", err)
			}
		}},
		{"crm_timeline_comment_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.TimelineCommentAdd(ctx, bitrix.TimelineDeal, 10, "hi")
			if err != nil || id != 999 {
				t.Fatal(id, err)
			}
		}},
		{"crm_timeline_comment_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			cs, _, err := c.TimelineCommentList(ctx, bitrix.TimelineDeal, 2, bitrix.ListRequest{})
			if err != nil || len(cs) == 0 || cs[0].ID != 999 || cs[0].AuthorID != 1 {
				t.Fatalf("%+v %v", cs, err)
			}
		}},
		{"tasks_task_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.TaskAdd(ctx, bitrix.Fields{"TITLE": "t", "RESPONSIBLE_ID": 1})
			if err != nil || id != 3711 {
				t.Fatal(id, err)
			}
		}},
		{"tasks_task_add_error.json", 400, wantErr(bitrix.ErrBadRequest, func(c *bitrix.Client) error {
			_, err := c.TaskAdd(ctx, bitrix.Fields{})
			return err
		})},
		{"im_notify_system_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.NotifySystemAdd(ctx, 1, "m", nil)
			if err != nil || id != 12345 {
				t.Fatal(id, err)
			}
		}},
		{"bizproc_workflow_start.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.WorkflowStart(ctx, 12, bitrix.DealDocumentID(5), nil)
			if err != nil || id == "" {
				t.Fatal(id, err)
			}
		}},
		{"crm_deal_userfield_list.json", 200, func(t *testing.T, c *bitrix.Client) {
			uf, err := c.DealUserFieldList(ctx, nil)
			if err != nil || len(uf) != 5 || uf[0].FieldName != "UF_CRM_1713790573" || !uf[0].Multiple {
				t.Fatalf("%+v %v", uf, err)
			}
		}},
		{"crm_deal_userfield_add.json", 200, func(t *testing.T, c *bitrix.Client) {
			id, err := c.DealUserFieldAdd(ctx, bitrix.Fields{"FIELD_NAME": "X", "USER_TYPE_ID": "string"})
			if err != nil || id != 6997 {
				t.Fatal(id, err)
			}
		}},
		{"crm_deal_fields.json", 200, func(t *testing.T, c *bitrix.Client) {
			f, err := c.DealFields(ctx)
			if err != nil || f["STAGE_ID"].StatusType != "DEAL_STAGE" || !f["CATEGORY_ID"].IsImmutable {
				t.Fatalf("%+v %v", f["STAGE_ID"], err)
			}
		}},
		{"error_query_limit_exceeded.json", 503, wantErr(bitrix.ErrQueryLimit, func(c *bitrix.Client) error {
			_, err := c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{}, nil)
			return err
		})},
		{"error_overload_limit.json", 503, func(t *testing.T, c *bitrix.Client) {
			_, err := c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
			if !errors.Is(err, bitrix.ErrOverload) || errors.Is(err, bitrix.ErrQueryLimit) {
				t.Fatal(err)
			}
			if n := c.Stats().Requests; n != 1 {
				t.Fatalf("overload retried: %d requests", n)
			}
		}},
		{"error_operation_time_limit.json", 429, wantErr(bitrix.ErrOperationTimeLimit, func(c *bitrix.Client) error {
			_, err := c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
			return err
		})},
		{"error_codes.json", 400, wantErr(bitrix.ErrBadRequest, func(c *bitrix.Client) error {
			_, err := c.Scope(ctx)
			return err
		})},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			cl, _ := serveFixture(t, dir, c.file, c.status)
			c.check(t, cl)
		})
	}
}

func TestFixtures(t *testing.T) { runFixtureCases(t, fixtureDir) }

// TestSharedFixtures runs the same checks against the shared fixture set, so
// a change there that breaks the decoders shows up.
func TestSharedFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "bitrix24")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared fixtures absent:", err)
	}
	runFixtureCases(t, dir)
}
