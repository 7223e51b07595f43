package main

import (
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

// pushCampaignSize is the shop of the push campaign: small, because every
// kill point pulls a shop of its own; the Bitrix24 activity on it is what
// push works through.
var pushCampaignSize = shop.Size{Orders: 80, Customers: 30}

// Manager activity on the portal after the pull: stage moves and timeline
// comments concentrated on some deals, by a user who is not the webhook's.
const (
	pushCampaignActiveDeals = 45
	pushCampaignMoves       = 500
	pushCampaignComments    = 200
	pushCampaignManager     = 7
	pushCampaignWebhookUser = 1 // bitrixtest's default webhook user
)

// pushStages maps the stages managers use to RetailCRM statuses; NEW and
// APOLOGY go back through the inverse of fullMapping's statuses, and
// FINAL_INVOICE is left unmapped on purpose (reported, never pushed).
const pushStages = `  stages:
    PREPARATION: client-confirmed
    PREPAYMENT_INVOICE: assembling
    EXECUTING: delivering
    WON: complete
    LOSE: cancel-other
`

var pushStageStatus = map[string]string{"NEW": "new", "PREPARATION": "client-confirmed",
	"PREPAYMENT_INVOICE": "assembling", "EXECUTING": "delivering", "WON": "complete", "LOSE": "cancel-other",
	"APOLOGY": "return"}

// statusStage is fullMapping (plus return: APOLOGY) resolved for the fake
// account's statuses: the stage an order's status stands for.
var statusStage = map[string]string{"new": "NEW", "client-confirmed": "PREPARATION", "prepayed": "PREPARATION",
	"assembling": "PREPAYMENT_INVOICE", "send-to-delivery": "EXECUTING", "delivering": "EXECUTING",
	"complete": "WON", "cancel-other": "LOSE", "no-call": "LOSE", "return": "APOLOGY"}

// campaignClock is the fake portal's clock: real time, except while the
// managers' activity is seeded, when it stands at fixed instants so that
// every copy of the shop carries the same comment and stage-history times.
type campaignClock struct {
	mu     sync.Mutex
	frozen time.Time
}

func (c *campaignClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now()
}

func (c *campaignClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = t
}

// Kill phases of a request trigger.
const (
	// killBefore kills crmsync when it sends the request; the fake never
	// sees it.
	killBefore = "before"
	// killLost lets the fake run the request (an edit is applied) and kills
	// crmsync before the answer reaches it.
	killLost = "lost"
	// killCommit delivers the answer and kills crmsync a moment later,
	// while it records the outcome in its database.
	killCommit = "commit"
)

// trigger is a kill point: the n-th request of a kind, in a phase, or
// (kind "") a moment after the start.
type trigger struct {
	kind  string
	n     int
	phase string
	delay time.Duration // killCommit: after the answer; time triggers: after the start
}

func (tr trigger) String() string {
	if tr.kind == "" {
		return "at_" + tr.delay.Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("%s_%d_%s", strings.NewReplacer(":", "_", ".", "_").Replace(tr.kind), tr.n, tr.phase)
	if tr.phase == killCommit {
		s += fmt.Sprintf("+%dus", tr.delay.Microseconds())
	}
	return s
}

// killProxy stands between crmsync and both fakes, counts requests by kind
// and SIGKILLs the running crmsync when its trigger fires.
type killProxy struct {
	mu     sync.Mutex
	counts map[string]int
	run    *proxyRun
}

// proxyRun is one armed run: its trigger and, once started, its process.
type proxyRun struct {
	trig  *trigger
	fired bool
	proc  *os.Process
	ready chan struct{} // closed once proc is set
}

func newKillProxy() *killProxy {
	k := &killProxy{}
	k.arm(nil)
	return k
}

// front starts a proxy to target for requests of side; it returns its URL.
func (k *killProxy) front(t *testing.T, side, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := side + ":" + requestKind(side, r.URL.Path)
		k.mu.Lock()
		k.counts[kind]++
		run := k.run
		fire := run.trig != nil && !run.fired && run.trig.kind == kind && k.counts[kind] == run.trig.n
		if fire {
			run.fired = true
		}
		k.mu.Unlock()
		if !fire {
			rp.ServeHTTP(w, r)
			return
		}
		switch run.trig.phase {
		case killBefore:
			run.kill()
		case killLost:
			rp.ServeHTTP(httptest.NewRecorder(), r)
			run.kill()
		case killCommit:
			rp.ServeHTTP(w, r)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			time.Sleep(run.trig.delay)
			run.kill()
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// requestKind names what a request is: the RetailCRM path (order edits and
// reads folded), or the Bitrix24 method.
func requestKind(side, path string) string {
	if side == "retailcrm" {
		switch {
		case strings.HasSuffix(path, "/edit"):
			return "edit"
		case path == "/api/v5/orders":
			return "orders"
		}
		return path
	}
	return strings.TrimSuffix(path[strings.LastIndex(path, "/")+1:], ".json")
}

func (r *proxyRun) kill() {
	select {
	case <-r.ready:
		_ = r.proc.Signal(syscall.SIGKILL)
	case <-time.After(10 * time.Second):
	}
}

// arm resets the counters and sets the trigger of the next run (nil: none).
func (k *killProxy) arm(tr *trigger) *proxyRun {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.counts, k.run = map[string]int{}, &proxyRun{trig: tr, ready: make(chan struct{})}
	return k.run
}

func (r *proxyRun) started(p *os.Process) {
	r.proc = p
	close(r.ready)
}

// requests returns the counts by kind since the last arm.
func (k *killProxy) requests() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.counts)
}

// pushShop is one copy of the push campaign's shop: seeded, pulled to
// completion, then worked on by managers in Bitrix24.
type pushShop struct {
	fakes
	clock        *campaignClock
	proxy        *killProxy
	dir, cfg, db string
	activityAt   time.Time            // when the managers' activity began
	before       map[int64]orderState // the orders before any push
}

// orderState is what push may change on an order.
type orderState struct {
	Status, ManagerComment string
}

func newPushShop(t *testing.T, activityAt time.Time) *pushShop {
	t.Helper()
	s := &pushShop{clock: &campaignClock{}, proxy: newKillProxy(), dir: t.TempDir(), activityAt: activityAt}
	s.rc = retailcrmtest.New(t, retailcrmtest.Options{Now: func() time.Time { return campaignNow }, Seed: 11})
	s.bx = bitrixtest.New(t, bitrixtest.Options{Rate: 200, Burst: 50, Seed: 11, Now: s.clock.Now})
	shop.New(5, campaignNow, retailcrmtest.DefaultSite).Seed(s.rc, s.bx, pushCampaignSize)
	rcURL := s.proxy.front(t, "retailcrm", s.rc.URL())
	bxURL := s.proxy.front(t, "bitrix", s.bx.URL())
	webhook := bxURL + strings.TrimPrefix(s.bx.WebhookURL(), s.bx.URL())
	s.cfg = writeConfig(t, s.dir, campaignYAML(rcURL, s.rc.APIKey(), webhook, pushStages))
	s.db = filepath.Join(s.dir, "crmsync.db")
	s.toCompletion(t, "pull", exitParked)
	s.managerActivity(t, activityAt)
	s.before = s.orders()
	return s
}

// managerActivity moves deals and comments on them as managers do, the
// same in every copy: deals are picked by ORIGIN_ID (the order), never by
// the ids the portal handed out, and the portal's clock stands at fixed
// instants from at on.
func (s *pushShop) managerActivity(t *testing.T, at time.Time) {
	t.Helper()
	byOrder := map[int64]int64{}
	for _, d := range s.bx.Deals() {
		o, err := strconv.ParseInt(bitrixtest.Str(d.Fields["ORIGIN_ID"]), 10, 64)
		if err != nil {
			t.Fatalf("deal %d has ORIGIN_ID %q", d.ID, d.Fields["ORIGIN_ID"])
		}
		byOrder[o] = d.ID
	}
	orders := slices.Sorted(maps.Keys(byOrder))
	rng := rand.New(rand.NewPCG(20261129, 8))
	rng.Shuffle(len(orders), func(i, j int) { orders[i], orders[j] = orders[j], orders[i] })
	active := orders[:min(pushCampaignActiveDeals, len(orders))]
	stages := []string{"NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE", "APOLOGY"}
	phrases := []string{"Клиент просит перезвонить", "Оплата по счёту, ждём платёжку", "Адрес уточнён: подъезд 2",
		"Скидка 5% согласована", "Курьер опоздает на час", "Client prefers e-mail"}
	defer s.clock.set(time.Time{})
	moves, comments := 0, 0
	for step := 0; moves < pushCampaignMoves || comments < pushCampaignComments; step++ {
		s.clock.set(at.Add(time.Duration(step) * 13 * time.Second))
		deal := byOrder[active[rng.IntN(len(active))]]
		if comments >= pushCampaignComments || moves < pushCampaignMoves && rng.IntN(3) > 0 {
			if err := s.bx.MoveDeal(deal, stages[rng.IntN(len(stages))], pushCampaignManager); err != nil {
				t.Fatal(err)
			}
			moves++
			continue
		}
		comments++
		author, text := int64(pushCampaignManager), fmt.Sprintf("#%03d %s", comments, phrases[rng.IntN(len(phrases))])
		switch {
		case comments%17 == 0:
			// The webhook's own user: crmsync's, never carried back.
			author = pushCampaignWebhookUser
		case comments%29 == 0:
			text += fmt.Sprintf("\nвторая строка к #%03d", comments)
		case comments%41 == 0:
			text = "   " // empty: nothing to carry
		}
		s.bx.AddComment("deal", deal, author, text)
	}
}

// orders is the fake RetailCRM's orders reduced to what push writes.
func (s *pushShop) orders() map[int64]orderState {
	out := map[int64]orderState{}
	for id := int64(1); len(out) < s.rc.OrderCount() && id < 100000; id++ {
		if o, ok := s.rc.Order(id); ok {
			out[id] = orderState{Status: o.Status, ManagerComment: o.ManagerComment}
		}
	}
	return out
}

// expected derives, from the portal alone, what push must leave on each
// order: the status the deal's final stage maps to (unless the order's
// status already stands for that stage, or the stage has no status), and
// the managers' comments appended once each, oldest first.
func (s *pushShop) expected(t *testing.T) map[int64]orderState {
	t.Helper()
	moved := map[int64]bool{}
	for _, h := range s.bx.StageHistory() {
		if !h.Created.Before(s.activityAt) {
			moved[h.OwnerID] = true
		}
	}
	comments := map[int64][]bitrixtest.CommentRow{}
	for _, c := range s.bx.Comments() {
		if c.EntityType == "deal" {
			comments[c.EntityID] = append(comments[c.EntityID], c)
		}
	}
	want := map[int64]orderState{}
	for id, o := range s.before {
		want[id] = o
	}
	for _, d := range s.bx.Deals() {
		id, _ := strconv.ParseInt(bitrixtest.Str(d.Fields["ORIGIN_ID"]), 10, 64)
		o, ok := want[id]
		if !ok {
			t.Fatalf("deal %d is linked to order %d, which does not exist", d.ID, id)
		}
		stage := bitrixtest.Str(d.Fields["STAGE_ID"])
		if status, mapped := pushStageStatus[stage]; moved[d.ID] && mapped && statusStage[o.Status] != stage {
			o.Status = status
		}
		var lines []string
		cs := comments[d.ID]
		slices.SortFunc(cs, func(a, b bitrixtest.CommentRow) int { return int(a.ID - b.ID) })
		for _, c := range cs {
			text := strings.TrimSpace(c.Comment)
			if c.AuthorID == pushCampaignWebhookUser || text == "" {
				continue
			}
			// The default locale (ru) writes the author so.
			lines = append(lines, fmt.Sprintf("[%s пользователь %d] %s", c.Created.Format("2006-01-02 15:04"), c.AuthorID, text))
		}
		if len(lines) > 0 {
			if existing := strings.TrimRight(o.ManagerComment, "\n"); existing != "" {
				lines = append([]string{existing}, lines...)
			}
			o.ManagerComment = strings.Join(lines, "\n")
		}
		want[id] = o
	}
	return want
}

// toCompletion runs command until a run finishes: exit 0, or done (pull
// parks the orders the shop has in an unmapped status on purpose).
func (s *pushShop) toCompletion(t *testing.T, command string, done int) {
	t.Helper()
	for i := 0; i < 5; i++ {
		r := runBinary(t, s.dir, nil, "--config", s.cfg, "--db", s.db, "-q", command)
		if r.code == exitOK || r.code == done {
			return
		}
		t.Logf("%s exited %d: %s", command, r.code, r.stderr)
	}
	t.Fatalf("%s did not complete in 5 runs", command)
}

// killPush starts push and SIGKILLs it at tr; it reports whether the kill
// happened (a request trigger past the run's last request does not fire).
func killPush(t *testing.T, s *pushShop, tr trigger) bool {
	t.Helper()
	run := s.proxy.arm(&tr)
	defer s.proxy.arm(nil)
	cmd := exec.Command(os.Args[0], "--config", s.cfg, "--db", s.db, "-q", "push")
	cmd.Dir = s.dir
	cmd.Env = []string{asMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + s.dir, raceEnv()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run.started(cmd.Process)
	if tr.kind == "" {
		time.Sleep(tr.delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	err := cmd.Wait()
	return killed(err)
}

func killed(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestPushSurvivesSIGKILL kills the real binary at seeded moments of a push
// (on its reads of both APIs, on RetailCRM edits and on the commits after
// them) and runs push to completion: the fake RetailCRM's orders must end
// exactly as after a push that was never interrupted, which itself must
// carry every status the managers' last moves ask for and append every
// manager comment once.
func TestPushSurvivesSIGKILL(t *testing.T) {
	skipShort(t, "crash campaign")
	t.Parallel()
	// The managers work an hour ahead of the real clock: later than every
	// stage pull writes in any copy by more than push's echo tolerance, so
	// no move of theirs is taken for crmsync's own, in every copy alike.
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)

	ref := newPushShop(t, at)
	ref.proxy.arm(nil)
	start := time.Now()
	ref.toCompletion(t, "push", exitOK)
	took := time.Since(start)
	counts := ref.proxy.requests()
	want := ref.orders()
	if diff := cmp.Diff(ref.expected(t), want); diff != "" {
		t.Fatalf("the uninterrupted push is wrong (-expected +got):\n%s", truncate(diff, 4000))
	}
	statuses, lines := 0, 0
	for id, o := range want {
		if o.Status != ref.before[id].Status {
			statuses++
		}
		lines += strings.Count(o.ManagerComment, "] ") - strings.Count(ref.before[id].ManagerComment, "] ")
	}
	if statuses < 20 || lines < 150 {
		t.Fatalf("the reference push changed %d statuses and appended %d lines: too little for a campaign", statuses, lines)
	}
	t.Logf("reference push: %v, %d statuses changed, %d comment lines appended; requests %v", took, statuses, lines, counts)

	// The comparison must be able to fail: a line appended twice and a
	// status left behind each show up.
	for name, spoil := range map[string]func(map[int64]orderState){
		"line appended twice": func(m map[int64]orderState) {
			for id, o := range m {
				if o.ManagerComment == ref.before[id].ManagerComment {
					continue
				}
				for _, l := range strings.Split(o.ManagerComment, "\n") {
					if strings.HasPrefix(l, "[") {
						o.ManagerComment += "\n" + l
						m[id] = o
						return
					}
				}
			}
		},
		"status lost": func(m map[int64]orderState) {
			for id, o := range m {
				if o.Status != ref.before[id].Status {
					o.Status = ref.before[id].Status
					m[id] = o
					return
				}
			}
		},
	} {
		spoiled := maps.Clone(want)
		spoil(spoiled)
		if cmp.Equal(want, spoiled) || name == "line appended twice" && len(repeatedLines(spoiled)) == 0 {
			t.Fatalf("the comparison does not notice a %s", name)
		}
	}

	// Each copy of the shop is a subtest; a few run at once, since a run
	// spends much of its time waiting on the RetailCRM rate limit.
	type job struct {
		name string
		run  func(t *testing.T)
	}
	var jobs []job
	var kills atomic.Int32
	for i, plan := range pushKillPoints(counts, took) {
		name := make([]string, len(plan))
		for j, tr := range plan {
			name[j] = tr.String()
		}
		jobs = append(jobs, job{fmt.Sprintf("%02d_%s", i, strings.Join(name, "_then_")), func(t *testing.T) {
			s := newPushShop(t, at)
			for j, tr := range plan {
				switch {
				case killPush(t, s, tr):
					kills.Add(1)
				case j == 0 && tr.kind != "":
					// The run does what the reference run did: its n-th
					// request of a kind comes.
					t.Errorf("push was not killed at %s", tr)
				default:
					t.Logf("run %d finished before %s", j+1, tr)
				}
			}
			s.toCompletion(t, "push", exitOK)
			got := s.orders()
			if rep := repeatedLines(got); len(rep) > 0 {
				t.Errorf("comment lines appended twice after kills at %v: %v", plan, rep)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("orders after kills at %v differ from the uninterrupted push (-want +got):\n%s", plan, truncate(diff, 4000))
			}
		}})
	}

	// Killed while it writes statuses, and then the database is lost too.
	// What the identity rules promise (docs/architecture.md) then is no duplicates: the remote keys are the
	// truth, the local links only a cache plus the cursors. The timer runs
	// pull first, which finds the deals again by ORIGIN_ID but, without its
	// content hashes, applies every order to its deal again: a deal whose
	// stage push had not carried yet goes back to the order's status, on
	// both sides alike, so that move is gone. And push starts over without
	// comment cursors: the comments of each deal it scans are read from the
	// first, and only the order's own text tells which it already holds.
	// So each order keeps the status its deal's move asked for or its own,
	// and holds its manager comment as before the push or exactly as in
	// the reference (one edit carries all of a deal's lines): nothing
	// appended twice, nothing foreign. Whether push scans a deal at all
	// then depends on what marks it active (a stage row it reads, an event
	// of the new database): the orders left without their comments are
	// counted, not failed.
	jobs = append(jobs, job{"kill_then_lose_database", func(t *testing.T) {
		s := newPushShop(t, at)
		tr := trigger{kind: "retailcrm:edit", n: 5, phase: killLost}
		if !killPush(t, s, tr) {
			t.Fatalf("push was not killed at %s", tr)
		}
		loseDatabase(t, s.db)
		s.toCompletion(t, "pull", exitParked)
		s.toCompletion(t, "push", exitOK)
		got := s.orders()
		if rep := repeatedLines(got); len(rep) > 0 {
			t.Errorf("comment lines appended twice after a lost database: %v", rep)
		}
		undone, uncarried := 0, 0
		for id, w := range want {
			g, before := got[id], s.before[id]
			switch g.ManagerComment {
			case w.ManagerComment:
			case before.ManagerComment:
				uncarried++
			default:
				t.Errorf("order %d manager comment after a lost database:\n%s\nwant:\n%s\nor as before the push:\n%s",
					id, g.ManagerComment, w.ManagerComment, before.ManagerComment)
			}
			switch g.Status {
			case w.Status:
			case before.Status:
				undone++
			default:
				t.Errorf("order %d has status %q after a lost database, want %q (or its own, %q)", id, g.Status, w.Status, before.Status)
			}
		}
		t.Logf("after the lost database: %d stage moves undone by pull, %d orders without their comments", undone, uncarried)
	}})

	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(j.name, j.run)
		}()
	}
	wg.Wait()
	if n := kills.Load(); n < 20 {
		t.Errorf("only %d runs were killed: the kill points miss the runs", n)
	} else {
		t.Logf("%d runs killed", n)
	}
}

// pushKillPoints plans the kills of each copy of the shop, spread over a
// push that sent counts requests in took: stage-history pages, Bitrix24
// batches (current stages, comment pages), order reads, and order edits
// killed before they reach RetailCRM, after RetailCRM applied them, and
// while crmsync commits them; one moment picked by time. Every other copy
// is killed a second time early in the run that recovers.
func pushKillPoints(counts map[string]int, took time.Duration) [][]trigger {
	rng := rand.New(rand.NewPCG(20261129, 9))
	pick := func(kind, phase string, upTo int) trigger {
		tr := trigger{kind: kind, n: 1 + rng.IntN(max(upTo, 1)), phase: phase}
		if phase == killCommit {
			tr.delay = time.Duration(rng.IntN(3000)) * time.Microsecond
		}
		return tr
	}
	var first []trigger
	add := func(kind, phase string, k int) {
		for range k {
			first = append(first, pick(kind, phase, counts[kind]))
		}
	}
	add("bitrix:crm.stagehistory.list", killBefore, 2)
	add("bitrix:batch", killBefore, 2)
	add("retailcrm:orders", killBefore, 1)
	add("retailcrm:orders", killLost, 1)
	add("retailcrm:edit", killBefore, 3)
	add("retailcrm:edit", killLost, 3)
	add("retailcrm:edit", killCommit, 3)
	first = append(first, trigger{delay: time.Duration(float64(took) * (0.2 + 0.6*rng.Float64()))})
	// The recovering run reads from its cursor and has fewer edits left:
	// the second kill comes early in it.
	second := []func() trigger{
		func() trigger { return pick("bitrix:crm.stagehistory.list", killBefore, 1) },
		func() trigger { return pick("retailcrm:edit", killBefore, 8) },
		func() trigger { return pick("retailcrm:edit", killLost, 8) },
		func() trigger { return pick("retailcrm:edit", killCommit, 8) },
	}
	plans := make([][]trigger, len(first))
	for i, tr := range first {
		plans[i] = []trigger{tr}
		if i%2 == 1 {
			plans[i] = append(plans[i], second[rng.IntN(len(second))]())
		}
	}
	return plans
}

// repeatedLines lists the comment lines (those push writes, "[time user
// n] text") that an order's manager comment holds more than once.
func repeatedLines(orders map[int64]orderState) []string {
	var out []string
	for id, o := range orders {
		seen := map[string]bool{}
		for _, l := range strings.Split(o.ManagerComment, "\n") {
			if !strings.HasPrefix(l, "[") {
				continue
			}
			if seen[l] {
				out = append(out, fmt.Sprintf("order %d: %q", id, l))
			}
			seen[l] = true
		}
	}
	slices.Sort(out)
	return out
}
