// Package metrics writes a run's figures as a Prometheus text-format file for
// node_exporter's textfile collector (`--metrics-file`), and holds them live
// for crmsync serve's /metrics (Live). The file is written
// to a temporary name and renamed, so the collector never reads half of it.
package metrics

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	stdsync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// API is what one remote API answered during the run.
type API struct {
	Requests    int64 // HTTP requests sent
	RateLimited int64 // 503 answers (both APIs' "slow down")
	TimeLimited int64 // 429 answers (Bitrix24 OPERATION_TIME_LIMIT)
	ServerError int64 // other 5xx answers
}

// Run is one finished run of a command.
type Run struct {
	Command  string
	Started  time.Time
	Ended    time.Time
	Result   string // ok, partial, failed, interrupted
	ExitCode int
	// Counters are the run's own counts (orders, deals.created, parked, ...).
	Counters map[string]int64
	APIs     map[string]API // by API name: retailcrm, bitrix
	// Parked and Retrying are the failures table after the run.
	Parked, Retrying int64
	// Backlog is the history records still to read (cursor lag); < 0 unknown.
	Backlog int64
}

// results are the values crmsync_last_run_result can take, so a dashboard
// can alert on result="failed" being 1.
func results() []string { return []string{"ok", "partial", "failed", "interrupted"} }

// Encode writes r in the Prometheus text format.
func Encode(w io.Writer, r Run) error {
	families, err := registry(r).Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// registry holds r's metrics: the one definition the file and serve's
// live /metrics share.
func registry(r Run) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	cmd := prometheus.Labels{"command": r.Command}
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cmd})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("crmsync_last_run_timestamp_seconds", "When the last run ended, as a Unix time.", float64(r.Ended.UnixNano())/1e9)
	gauge("crmsync_last_run_duration_seconds", "How long the last run took.", r.Ended.Sub(r.Started).Seconds())
	gauge("crmsync_last_run_exit_code", "The last run's exit code (0 ok, 3 parked items, ...).", float64(r.ExitCode))
	gauge("crmsync_failures_parked", "Items parked after their last retry, waiting for retry or skip.", float64(r.Parked))
	gauge("crmsync_failures_retrying", "Failed items waiting for their next attempt.", float64(r.Retrying))
	if r.Backlog >= 0 {
		gauge("crmsync_cursor_lag_records", "History records still to read at the end of the run.", float64(r.Backlog))
	}

	result := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmsync_last_run_result", Help: "1 for the last run's result.", ConstLabels: cmd}, []string{"result"})
	for _, res := range results() {
		v := 0.0
		if res == r.Result {
			v = 1
		}
		result.WithLabelValues(res).Set(v)
	}
	reg.MustRegister(result)

	items := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmsync_last_run_items", Help: "The last run's counters (orders, deals created, parked, ...).", ConstLabels: cmd}, []string{"counter"})
	for _, k := range slices.Sorted(maps.Keys(r.Counters)) {
		items.WithLabelValues(k).Set(float64(r.Counters[k]))
	}
	reg.MustRegister(items)

	reqs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmsync_last_run_api_requests", Help: "HTTP requests the last run sent, by API.", ConstLabels: cmd}, []string{"api"})
	answers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmsync_last_run_api_errors", Help: "Limit and server-error answers in the last run, by API and HTTP status class.", ConstLabels: cmd}, []string{"api", "code"})
	for _, name := range slices.Sorted(maps.Keys(r.APIs)) {
		a := r.APIs[name]
		reqs.WithLabelValues(name).Set(float64(a.Requests))
		answers.WithLabelValues(name, "503").Set(float64(a.RateLimited))
		answers.WithLabelValues(name, "429").Set(float64(a.TimeLimited))
		answers.WithLabelValues(name, "5xx").Set(float64(a.ServerError))
	}
	reg.MustRegister(reqs, answers)
	return reg
}

// Live is the last run of each command as a prometheus.Gatherer: crmsync
// serve's /metrics, the same metrics as the file, live. Safe for concurrent
// use; the zero value is ready.
type Live struct {
	mu   stdsync.Mutex
	runs map[string]Run
}

// Set records r as its command's last run.
func (l *Live) Set(r Run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runs == nil {
		l.runs = map[string]Run{}
	}
	l.runs[r.Command] = r
}

// Gather implements prometheus.Gatherer.
func (l *Live) Gather() ([]*dto.MetricFamily, error) {
	l.mu.Lock()
	gs := make(prometheus.Gatherers, 0, len(l.runs))
	for _, cmd := range slices.Sorted(maps.Keys(l.runs)) {
		gs = append(gs, registry(l.runs[cmd]))
	}
	l.mu.Unlock()
	return gs.Gather()
}

// WriteFile replaces path with r's metrics atomically.
func WriteFile(path string, r Run) error {
	var buf bytes.Buffer
	if err := Encode(&buf, r); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics file: %w", err)
	}
	// The collector runs as another user: the figures are not secret.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	return nil
}
