// Package validate checks deploy/prometheus and deploy/grafana with
// Prometheus's own rule-file and PromQL parsers. It is a module of its own so
// that Prometheus's large dependency tree stays out of crmsync's go.mod; the
// main module's deploy tests check that every metric named here is one
// crmsync writes.
package validate

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

var (
	rulesFile     = filepath.Join("..", "prometheus", "crmsync.rules.yml")
	dashboardFile = filepath.Join("..", "grafana", "crmsync.json")
)

// TestRulesFile is promtool check rules: the file parses strictly (unknown
// fields are errors), every expression is valid PromQL and every template
// in labels and annotations parses.
func TestRulesFile(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		return
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("rule %q is not an alert", r.Record)
				continue
			}
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a severity label, a summary or a description", r.Alert)
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
				continue
			}
			checkSelectors(t, "alert "+r.Alert, expr)
		}
	}
	want := []string{"CrmsyncNoSuccessfulRun", "CrmsyncParkedFailuresGrowing", "CrmsyncRateLimited", "CrmsyncServeHooksRefused"}
	if strings.Join(alerts, ",") != strings.Join(want, ",") {
		t.Errorf("alerts %v, want %v", alerts, want)
	}
}

// grafanaVar is a dashboard variable or a Grafana macro in a query.
var grafanaVar = regexp.MustCompile(`\$\{?(__[a-z_]+|[a-z_]+)(:[a-z]+)?\}?`)

// TestDashboardQueries parses every panel query as PromQL, with Grafana's
// variables replaced by what they stand for.
func TestDashboardQueries(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	n := 0
	for _, panel := range dash.Panels {
		for _, target := range panel.Targets {
			if target.Expr == "" {
				continue
			}
			n++
			q := grafanaVar.ReplaceAllStringFunc(target.Expr, func(v string) string {
				if strings.Contains(v, "interval") {
					return "5m"
				}
				return "x"
			})
			expr, err := p.ParseExpr(q)
			if err != nil {
				t.Errorf("panel %q: %s: %v", panel.Title, target.Expr, err)
				continue
			}
			checkSelectors(t, "panel "+panel.Title, expr)
		}
	}
	if n == 0 {
		t.Error("the dashboard has no queries")
	}
}

// checkSelectors: every series an expression reads is one of crmsync's,
// named outright, so the main module's test (which knows the registered
// names) sees them all.
func checkSelectors(t *testing.T, where string, expr parser.Expr) {
	t.Helper()
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && !strings.HasPrefix(vs.Name, "crmsync_") {
			t.Errorf("%s reads %q: not a crmsync metric named outright", where, vs.String())
		}
		return nil
	})
}
