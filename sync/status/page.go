package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/runs"
)

// Page is what the status page shows: the report of `status --json`, the
// Bitrix24 requests of the last hour and the order numbers of the failed
// orders.
type Page struct {
	Report   *Report
	Requests Requests
	// Numbers are the order numbers crmsync knows for the failures, by
	// order id as text (Failure.Key); an order never linked has none.
	Numbers map[string]string
	Now     time.Time
}

// PageOptions say how to read a page.
type PageOptions struct {
	Now        time.Time // zero: time.Now
	BitrixRate float64   // bitrix.rate, requests per second: the chart's limit line
}

// LoadPage reads the page from st.
func LoadPage(ctx context.Context, st *store.Store, opts PageOptions) (*Page, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep, err := Collect(ctx, st)
	if err != nil {
		return nil, err
	}
	req, err := CollectRequests(ctx, st, now, opts.BitrixRate)
	if err != nil {
		return nil, err
	}
	p := &Page{Report: rep, Requests: req, Numbers: map[string]string{}, Now: now}
	var ids []int64
	for _, f := range rep.Failures.Items {
		// Every kind but customer keys an order (pull's orders, push's
		// stages and comments).
		if id, err := strconv.ParseInt(f.Key, 10, 64); err == nil && f.Kind != "customer" {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		links, err := st.OrderLinks(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, l := range links {
			if l.Number != "" {
				p.Numbers[strconv.FormatInt(id, 10)] = l.Number
			}
		}
	}
	return p, nil
}

// NoDatabasePage is the page before the first pull or backfill created the
// database.
func NoDatabasePage(now time.Time) *Page {
	return &Page{Report: NoDatabase(), Requests: Requests{}, Numbers: map[string]string{}, Now: now}
}

// HandlerOptions configure the status page's handler.
type HandlerOptions struct {
	// Load reads the page for one request, e.g. by opening the database
	// read-only and calling LoadPage (or NoDatabasePage).
	Load func(ctx context.Context) (*Page, error)
	// Redact masks secrets in every text the page shows (the engines'
	// messages come from outside); nil shows them as they are, which only
	// tests should do.
	Redact func(string) string
	// Log receives the errors of Load; nil: slog.Default.
	Log *slog.Logger
}

//go:embed page.html page.css
var pageFS embed.FS

// The page's stylesheet is inline, allowed by its hash alone: the page
// loads nothing and runs no script.
var (
	pageCSS      = mustRead("page.css")
	pageTemplate = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"utc":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"hhmm":     func(t time.Time) string { return t.UTC().Format("15:04") },
		"ago":      ago,
		"counters": counterList,
	}).ParseFS(pageFS, "page.html"))
	contentSecurityPolicy = "default-src 'none'; style-src 'sha256-" + cssHash() + "'; img-src 'none'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func mustRead(name string) string {
	b, err := pageFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cssHash() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Handler serves the status page at "/": GET and HEAD only, HTML rendered
// on the server, no script.
func Handler(opts HandlerOptions) http.Handler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	redact := opts.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		page, err := opts.Load(r.Context())
		if err != nil {
			log.Error("status page: reading the database", "err", redact(err.Error()))
			http.Error(w, "crmsync status: could not read the database; the log says why", http.StatusInternalServerError)
			return
		}
		var buf bytes.Buffer
		if err := pageTemplate.Execute(&buf, view(page, redact)); err != nil {
			log.Error("status page: rendering", "err", redact(err.Error()))
			http.Error(w, "crmsync status: could not render the page", http.StatusInternalServerError)
			return
		}
		// Masked once more as a whole, for any text view did not know of.
		body := redact(buf.String())
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write([]byte(body))
	})
}

// pageView is what the template renders: the page with every outside text
// masked and the chart laid out.
type pageView struct {
	CSS     template.CSS
	Now     time.Time
	Report  *Report
	Runs    []runView
	Cursors []cursorView
	Backlog *int
	// PullEnded says when the last pull ended ("3m ago"); "" while none has.
	PullEnded string
	Failures  []failureView
	More      int // failures not listed
	Phrase    string
	Chart     chart
	Requests  Requests
}

type runView struct {
	Run
	Took    string
	Message string
	Good    bool
}

type cursorView struct {
	Cursor
	Lag string // since it last moved
}

type failureView struct {
	Failure
	Order  string // "1042 (No. 1042A)", or the key as it is
	Reason string
}

// maxFailures is how many failures the page lists; status --failed lists
// them all.
const maxFailures = 100

func view(p *Page, redact func(string) string) pageView {
	rep := p.Report
	v := pageView{CSS: template.CSS(pageCSS), Now: p.Now, Report: rep, Requests: p.Requests,
		Backlog: rep.Backlog[store.CursorOrdersHistory], Chart: layout(p.Requests)}
	for _, r := range rep.Runs {
		rv := runView{Run: r, Message: redact(r.Message), Took: "still running (or died)",
			Good: r.Result == string(store.RunOK)}
		if r.EndedAt != nil {
			rv.Took = r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		v.Runs = append(v.Runs, rv)
	}
	if r, ok := rep.LastRuns["pull"]; ok && r.EndedAt != nil {
		v.PullEnded = ago(*r.EndedAt, p.Now)
	}
	for _, c := range rep.Cursors {
		c.Value = redact(c.Value)
		v.Cursors = append(v.Cursors, cursorView{Cursor: c, Lag: ago(c.UpdatedAt, p.Now)})
	}
	for i, f := range rep.Failures.Items {
		if i == maxFailures {
			v.More = len(rep.Failures.Items) - i
			break
		}
		f.Key = redact(f.Key)
		fv := failureView{Failure: f, Order: f.Key, Reason: redact(f.LastError)}
		if f.Kind == "customer" {
			fv.Order = "customer " + f.Key
		} else if n := p.Numbers[f.Key]; n != "" {
			fv.Order = f.Key + " (No. " + redact(n) + ")"
		}
		v.Failures = append(v.Failures, fv)
	}
	// The words of status and the commands' summaries, capitalised.
	phrase := runs.FailuresPhrase(rep.Failures.Parked+rep.Failures.Pending, rep.Failures.Pending)
	v.Phrase = strings.ToUpper(phrase[:1]) + phrase[1:]
	return v
}

// chart is the SVG bar chart of the requests, laid out in user units.
type chart struct {
	Width, Height int
	Bars          []bar
	Ticks         []tick // the y axis
	LimitY        int    // the limit line's y; 0: none
	Limit         int64
	Base          int // the x axis' y
}

type bar struct {
	X, Y, W, H int
	Label      string // the bucket's start, HH:MM
	LabelX     int
	Requests   int64
	Title      string
}

type tick struct {
	Y     int
	Value int64
}

// The chart's geometry, in SVG user units.
const (
	chartWidth  = 1000
	chartHeight = 260
	chartLeft   = 56 // room for the y axis' numbers
	chartTop    = 16
	chartBottom = 28 // room for the times
)

func layout(req Requests) chart {
	c := chart{Width: chartWidth, Height: chartHeight, Base: chartHeight - chartBottom, Limit: req.Limit}
	if len(req.Buckets) == 0 {
		return c
	}
	// The scale follows the requests, so that a quiet hour still shows;
	// the limit line joins it once the busiest bucket nears the limit.
	top := niceCeil(max(req.Max(), 1))
	if req.Limit > 0 && req.Limit <= 2*top {
		top = niceCeil(max(req.Max(), req.Limit))
	}
	plot := c.Base - chartTop
	y := func(n int64) int { return c.Base - int(int64(plot)*n/top) }
	slot := (chartWidth - chartLeft) / len(req.Buckets)
	for i, b := range req.Buckets {
		x := chartLeft + i*slot
		h := c.Base - y(b.Requests)
		if b.Requests > 0 && h < 1 {
			h = 1 // a few requests still show
		}
		c.Bars = append(c.Bars, bar{X: x + 4, Y: c.Base - h, W: slot - 8, H: h, Label: b.Start.UTC().Format("15:04"),
			LabelX: x + slot/2, Requests: b.Requests,
			Title: fmt.Sprintf("%s–%s UTC: %d requests", b.Start.UTC().Format("15:04"), b.Start.Add(BucketWidth).UTC().Format("15:04"), b.Requests)})
	}
	for _, v := range []int64{0, top / 2, top} {
		c.Ticks = append(c.Ticks, tick{Y: y(v), Value: v})
	}
	if req.Limit > 0 && req.Limit <= top {
		c.LimitY = y(req.Limit)
	}
	return c
}

// niceCeil rounds n up to 2, 4 or 10 times a power of ten: a round top for
// the axis, even so that the middle tick is whole.
func niceCeil(n int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{2, 4, 10} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// ago says how long before now t was: "12s ago", "3m ago", "5h10m ago".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// counterList is a run's counters as "name=value" in name order, the
// zeros left out.
func counterList(c map[string]int64) string {
	var keys []string
	for k, v := range c {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatInt(c[k], 10)
	}
	return strings.Join(parts, " ")
}
