package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetricsFileAfterASyncCommand(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	dir, cfg, db := workFiles(t, f.config(fullMapping))
	prom := filepath.Join(dir, "crmsync-pull.prom")
	r := runInProcess(t, "--config", cfg, "--db", db, "--metrics-file", prom, "pull")
	fh, err := os.Open(prom)
	if err != nil {
		t.Fatalf("no metrics file after pull (exit %d): %v", r.code, err)
	}
	defer fh.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(fh)
	if err != nil {
		t.Fatal(err)
	}
	code := families["crmsync_last_run_exit_code"]
	if code == nil || int(code.GetMetric()[0].GetGauge().GetValue()) != r.code {
		t.Errorf("exit code metric %v, exit %d", code, r.code)
	}
	for _, name := range []string{"crmsync_last_run_duration_seconds", "crmsync_last_run_result", "crmsync_failures_parked"} {
		if families[name] == nil {
			t.Errorf("metrics file lacks %s", name)
		}
	}

	// Commands that record no run write no metrics.
	other := filepath.Join(dir, "status.prom")
	runInProcess(t, "--config", cfg, "--db", db, "--metrics-file", other, "status").mustCode(t, exitOK)
	if _, err := os.Stat(other); err == nil {
		t.Error("status wrote a metrics file")
	}
}
