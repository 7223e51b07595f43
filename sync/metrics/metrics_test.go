package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func sample() Run {
	start := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	return Run{
		Command: "pull", Started: start, Ended: start.Add(90 * time.Second), Result: "partial", ExitCode: 3,
		Counters: map[string]int64{"orders": 120, "deals.created": 40, "parked": 2},
		APIs: map[string]API{
			"retailcrm": {Requests: 7},
			"bitrix":    {Requests: 12, RateLimited: 1, TimeLimited: 0, ServerError: 2},
		},
		Parked: 2, Retrying: 1, Backlog: 340,
	}
}

func TestFileParsesWithThePrometheusParser(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crmsync-pull.prom")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("not valid text format: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		mf, ok := families[name]
		if !ok {
			t.Fatalf("no %s", name)
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue()
		}
		t.Fatalf("no %s with %v", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"crmsync_last_run_duration_seconds", map[string]string{"command": "pull"}, 90},
		{"crmsync_last_run_exit_code", nil, 3},
		{"crmsync_last_run_result", map[string]string{"result": "partial"}, 1},
		{"crmsync_last_run_result", map[string]string{"result": "ok"}, 0},
		{"crmsync_last_run_items", map[string]string{"counter": "deals.created"}, 40},
		{"crmsync_last_run_api_requests", map[string]string{"api": "bitrix"}, 12},
		{"crmsync_last_run_api_errors", map[string]string{"api": "bitrix", "code": "503"}, 1},
		{"crmsync_last_run_api_errors", map[string]string{"api": "bitrix", "code": "5xx"}, 2},
		{"crmsync_failures_parked", nil, 2},
		{"crmsync_cursor_lag_records", nil, 340},
		{"crmsync_last_run_timestamp_seconds", nil, float64(sample().Ended.Unix())},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestUnknownBacklogIsOmitted(t *testing.T) {
	t.Parallel()
	r := sample()
	r.Backlog = -1
	path := filepath.Join(t.TempDir(), "m.prom")
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	f, _ := os.Open(path)
	defer f.Close()
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := families["crmsync_cursor_lag_records"]; ok {
		t.Errorf("lag written though unknown:\n%s", data)
	}
}

func TestWriteFileFailsCleanly(t *testing.T) {
	t.Parallel()
	if err := WriteFile(filepath.Join(t.TempDir(), "missing-dir", "m.prom"), sample()); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestLiveServesTheFileMetrics: serve's live metrics are the file's, for
// each command's last run.
func TestLiveServesTheFileMetrics(t *testing.T) {
	t.Parallel()
	var l Live
	pull, push := sample(), sample()
	push.Command, push.Result, push.ExitCode, push.Counters = "push", "ok", 0, map[string]int64{"stages": 3}
	l.Set(sample())
	l.Set(push)
	pull.Counters = map[string]int64{"orders": 7}
	l.Set(pull) // replaces the first pull
	families, err := l.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var live bytes.Buffer
	enc := expfmt.NewEncoder(&live, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []Run{pull, push} {
		var file bytes.Buffer
		if err := Encode(&file, r); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(file.String()), "\n") {
			if !strings.HasPrefix(line, "#") && !strings.Contains(live.String(), line) {
				t.Errorf("live metrics lack the file's %q", line)
			}
		}
	}
	if strings.Contains(live.String(), `counter="deals.created"`) {
		t.Error("the replaced run's counters are still served")
	}
}
