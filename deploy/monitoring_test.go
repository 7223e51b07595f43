package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/sync/metrics"
	"github.com/crmsync/crmsync/sync/serve"
)

// registeredMetrics are the metrics crmsync writes, each with its label
// names: what sync/metrics encodes for a run with every figure known, and
// what a fresh serve (both endpoints and both jobs on) shows at /metrics.
func registeredMetrics(t *testing.T) map[string][]string {
	t.Helper()
	var buf bytes.Buffer
	now := time.Now()
	err := metrics.Encode(&buf, metrics.Run{Command: "pull", Started: now.Add(-time.Minute), Ended: now, Result: "ok",
		Counters: map[string]int64{"orders": 1}, APIs: map[string]metrics.API{"retailcrm": {Requests: 1}, "bitrix": {Requests: 1}},
		Parked: 1, Retrying: 1, Backlog: 1})
	if err != nil {
		t.Fatal(err)
	}
	run := parseExposition(t, buf.String())
	if len(run) < 5 {
		t.Fatalf("sync/metrics encodes only %v", run)
	}
	nop := func(context.Context, <-chan struct{}) error { return nil }
	srv := serve.New(serve.Options{Pull: nop, Push: nop, RetailCRMToken: "t", BitrixToken: "t"})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	served := parseExposition(t, rec.Body.String())
	if rec.Code != http.StatusOK || len(served) < 2 {
		t.Fatalf("serve's /metrics: %d, %v", rec.Code, served)
	}
	maps.Copy(run, served)
	return run
}

// parseExposition reads the Prometheus text format: every metric with a
// TYPE line, and the label names its samples carry.
func parseExposition(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(text, -1) {
		out[m[1]] = nil
	}
	for _, m := range regexp.MustCompile(`(?m)^(crmsync_[a-z0-9_]+)\{([^}]*)\}`).FindAllStringSubmatch(text, -1) {
		for _, pair := range strings.Split(m[2], ",") {
			name, _, _ := strings.Cut(pair, "=")
			if !slices.Contains(out[m[1]], name) {
				out[m[1]] = append(out[m[1]], name)
			}
		}
	}
	return out
}

// metricName finds the crmsync series a PromQL expression reads (the
// validate module checks with Prometheus's parser that every series is
// named outright with this prefix).
var metricName = regexp.MustCompile(`\bcrmsync_[a-z0-9_]+\b`)

// alertRules reads deploy/prometheus/crmsync.rules.yml.
func alertRules(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("prometheus", "crmsync.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules[r.Alert] = r.Expr
		}
	}
	return rules
}

// dashboard is the part of a Grafana dashboard model the tests read.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", "crmsync.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("crmsync.json: %v", err)
	}
	return d
}

// TestMonitoringUsesRegisteredMetrics: every metric the dashboard and the
// alert rules read is one crmsync writes, so renaming a metric breaks this
// test rather than a dashboard nobody looks at until the night it matters.
func TestMonitoringUsesRegisteredMetrics(t *testing.T) {
	t.Parallel()
	known := registeredMetrics(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s reads no crmsync metric: %s", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if _, ok := known[n]; !ok {
				t.Errorf("%s reads %s, which crmsync does not write (it writes %s)", where, n, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
			}
		}
	}
	rules := alertRules(t)
	for _, name := range []string{"CrmsyncNoSuccessfulRun", "CrmsyncParkedFailuresGrowing", "CrmsyncRateLimited", "CrmsyncServeHooksRefused"} {
		if rules[name] == "" {
			t.Errorf("no alert %s", name)
		}
	}
	for name, expr := range rules {
		check("alert "+name, expr)
	}
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
	// Every figure crmsync writes has a place on the dashboard.
	for n := range known {
		if !used[n] {
			t.Errorf("%s is shown nowhere", n)
		}
	}
	// The alerts read what they say they do.
	for name, want := range map[string][]string{
		"CrmsyncNoSuccessfulRun":       {"crmsync_last_run_result", "crmsync_last_run_timestamp_seconds", "1800", "[30m]"},
		"CrmsyncParkedFailuresGrowing": {"crmsync_failures_parked", "offset"},
		"CrmsyncRateLimited":           {"crmsync_last_run_api_errors", `code="503"`},
		"CrmsyncServeHooksRefused":     {"crmsync_serve_hook_requests_total", `outcome="bad_token"`, "increase(", "by (instance, source)"},
	} {
		for _, w := range want {
			if !strings.Contains(rules[name], w) {
				t.Errorf("alert %s: expression lacks %s: %s", name, w, rules[name])
			}
		}
	}
}

// TestGrafanaDashboard checks what Grafana needs to import the dashboard
// and draw every panel: a Prometheus data source variable every panel uses,
// panels with ids, positions and queries, the instance and command filters.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	d := readDashboard(t)
	known := registeredMetrics(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "datasource" && v.Query != "prometheus" {
			t.Errorf("variable %s: query %v, want prometheus", v.Name, v.Query)
		}
	}
	if vars["datasource"] != "datasource" || vars["instance"] != "query" || vars["command"] != "query" {
		t.Errorf("variables %v: want datasource (a data source variable), instance and command", vars)
	}
	if len(d.Panels) < 6 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if p.ID == 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || p.Type == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: type %q, gridPos %+v", p.Title, p.Type, p.GridPos)
		}
		if p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: query %q lacks a refId or the instance filter", p.Title, tg.Expr)
			}
			// The command filter where the series have a command label;
			// elsewhere it would hide them all once a command is picked.
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				if labels, ok := known[n]; ok && slices.Contains(labels, "command") != strings.Contains(tg.Expr, `command=~"$command"`) {
					t.Errorf("panel %q: query %q: %s has labels %v; the command filter belongs where there is a command label", p.Title, tg.Expr, n, labels)
				}
			}
		}
	}
}
