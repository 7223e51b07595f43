package status_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	pullsync "github.com/crmsync/crmsync/sync"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/shop"
	"github.com/crmsync/crmsync/sync/status"
)

// pulledServer serves the page the way serve does (the database opened
// read-only for each request) over a database that a real pull of the
// sandbox's shop against the fake servers filled. It returns the server
// and the pull's summary.
func pulledServer(t *testing.T) (*httptest.Server, pullsync.Summary) {
	t.Helper()
	ctx := context.Background()
	rc := retailcrmtest.New(t, retailcrmtest.Options{})
	bx := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	shop.New(19, time.Now(), retailcrmtest.DefaultSite).Seed(rc, bx, shop.Size{Orders: 40, Customers: 15})
	rcc, err := retailcrm.New(rc.URL(), rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(rc.Location()))
	if err != nil {
		t.Fatal(err)
	}
	bxc, err := bitrix.New(bx.WebhookURL(), bitrix.WithRate(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The shop's statuses but one: its unmapped status parks its orders.
	cfg := &config.Config{PhoneRegion: "RU", Locale: "en",
		Bitrix:  config.Bitrix{Entity: config.EntityDeal, OriginatorID: "retailcrm"},
		Mapping: config.Mapping{Statuses: config.DefaultStatuses()}}
	db := filepath.Join(t.TempDir(), "crmsync.db")
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := pullsync.New(pullsync.Options{Config: cfg, RetailCRM: rcc, Bitrix: bxc, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Pull(ctx)
	st.Close()
	if err != nil {
		t.Fatalf("pull: %v", err)
	}

	h := status.Handler(status.HandlerOptions{Log: discard(), Load: func(ctx context.Context) (*status.Page, error) {
		st, err := store.Open(ctx, db, store.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return status.LoadPage(ctx, st, status.PageOptions{BitrixRate: config.DefaultBitrixRate})
	}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, res.Report.Summary
}

// TestPageAfterPull: over HTTP, the page of a database a real pull filled
// shows that run with its counts, and its Bitrix24 requests in the chart.
func TestPageAfterPull(t *testing.T) {
	t.Parallel()
	srv, sum := pulledServer(t)
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", res.StatusCode, body)
	}
	page := string(body)
	if sum.BitrixRequests == 0 || sum.DealsCreated == 0 {
		t.Fatalf("the pull did little: %+v", sum)
	}
	for _, want := range []string{
		`<tr class="run" data-command="pull">`,
		fmt.Sprintf("bitrix_requests=%d", sum.BitrixRequests),
		fmt.Sprintf("deals_created=%d", sum.DealsCreated),
		fmt.Sprintf("%d requests in 5-minute buckets", sum.BitrixRequests),
		"<td>orders_history</td>",
		"Lag: about 0 order history records still to read at the last pull, which ended ", // it read them all
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if sum.Parked > 0 && !strings.Contains(page, `<tr class="failure">`) {
		t.Errorf("the pull parked %d items; the page lists none", sum.Parked)
	}
}

// chromium is the headless browser of the OS packages, or "" when it is
// not installed (as on CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium): the browser test of the status page is skipped; the HTTP tests still run")
	return ""
}

// browse runs headless Chromium on url with extra flags, offline (no
// updates, sync or other background traffic) and with a profile of its own.
func browse(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestPageInBrowser renders the page of a pulled database in headless
// Chromium: the DOM it builds has the runs table and the chart's bars, and
// a screenshot goes to the test's artefacts (go test -artifacts keeps it).
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	srv, sum := pulledServer(t)

	dom := browse(t, bin, srv.URL+"/", "--dump-dom")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<section id="runs">[\s\S]*<table>[\s\S]*<tr class="run" data-command="pull">`),
		regexp.MustCompile(`<svg id="chart"[^>]*>[\s\S]*<rect class="bar"[\s\S]*</svg>`),
		regexp.MustCompile(fmt.Sprintf(`bitrix_requests=%d`, sum.BitrixRequests)),
	} {
		if !want.MatchString(dom) {
			t.Errorf("the rendered DOM lacks %s:\n%s", want, dom)
		}
	}
	if n := strings.Count(dom, `<rect class="bar"`); n != status.Buckets {
		t.Errorf("the chart has %d bars, want %d", n, status.Buckets)
	}
	// A bar with the pull's requests has height.
	if !regexp.MustCompile(`<rect class="bar" x="\d+" y="\d+" width="\d+" height="[1-9]\d*">`).MatchString(dom) {
		t.Errorf("no bar has height:\n%s", dom)
	}

	dir := t.ArtifactDir()
	shot := filepath.Join(dir, "status-page.png")
	browse(t, bin, srv.URL+"/", "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars")
	data, err := os.ReadFile(shot)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("chromium wrote no screenshot to %s", shot)
	} else if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 10_000 {
		t.Errorf("the screenshot %s is not a PNG of a page (%d bytes)", shot, len(data))
	}
	// The whole page, failures included, for a person to look at.
	full := filepath.Join(dir, "status-page-full.png")
	browse(t, bin, srv.URL+"/", "--screenshot="+full, "--window-size=1200,2400", "--hide-scrollbars")
	t.Logf("screenshots: %s, %s", shot, full)
}

// TestPageInBrowserEscapes: markup in a reason and a run's message reaches
// the browser as text: the DOM it builds has no script or image element,
// and the busy hour's limit line and failed run show (second screenshot).
func TestPageInBrowserEscapes(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	st, _ := seeded(t, `<script>document.title="pwned"</script>unmapped`, `<img src=x onerror="document.title='pwned'">`)
	srv := httptest.NewServer(status.Handler(status.HandlerOptions{Load: func(ctx context.Context) (*status.Page, error) {
		// A rate of 0.1 a second (30 in 5 minutes) puts the limit line in the chart.
		return status.LoadPage(ctx, st, status.PageOptions{Now: t0, BitrixRate: 0.1})
	}}))
	defer srv.Close()

	dom := browse(t, bin, srv.URL+"/", "--dump-dom")
	if regexp.MustCompile(`(?i)<(script|img)\b`).MatchString(dom) || strings.Contains(dom, "pwned</title>") {
		t.Errorf("markup from a reason became elements:\n%s", dom)
	}
	for _, want := range []string{`&lt;script&gt;document.title="pwned"&lt;/script&gt;unmapped`, `error: &lt;img src=x`,
		`<line class="limit"`, `<span class="result failed">failed</span>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q:\n%s", want, dom)
		}
	}
	shot := filepath.Join(t.ArtifactDir(), "status-page-seeded.png")
	browse(t, bin, srv.URL+"/", "--screenshot="+shot, "--window-size=1200,1400", "--hide-scrollbars")
	t.Logf("screenshot: %s", shot)
}
