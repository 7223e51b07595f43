package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

// campaignNow fixes the fakes' clock so that every run of the campaign sees
// the same history, timestamps included.
var campaignNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// campaignOrdersEnv sizes the crash campaigns' shops: CI runs them at a few
// hundred orders; CRMSYNC_CAMPAIGN_ORDERS=3000 runs them at thousands.
const campaignOrdersEnv = "CRMSYNC_CAMPAIGN_ORDERS"

// campaignSize is the shop size of a campaign: def orders unless the
// environment asks for more, with a customer for every three orders.
func campaignSize(t *testing.T, def int) shop.Size {
	t.Helper()
	n := def
	if v := os.Getenv(campaignOrdersEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("%s=%q: want a number of orders, at least 10", campaignOrdersEnv, v)
		}
	}
	return shop.Size{Orders: n, Customers: (n + 2) / 3}
}

// campaignShop is the shop every run of a campaign starts from.
func campaignShop(t *testing.T, size shop.Size) fakes { return campaignShopWith(t, size, nil) }

// campaignShopWith is campaignShop with the portal's options adjusted
// (portal may be nil).
func campaignShopWith(t *testing.T, size shop.Size, portal func(*bitrixtest.Options)) fakes {
	t.Helper()
	rc := retailcrmtest.New(t, retailcrmtest.Options{Now: func() time.Time { return campaignNow }, Seed: 11})
	// A real bucket, generous enough to keep the campaign short but strict
	// enough that a run spans many requests.
	opts := bitrixtest.Options{Rate: 200, Burst: 50, Seed: 11}
	if portal != nil {
		portal(&opts)
	}
	bx := bitrixtest.New(t, opts)
	shop.New(5, campaignNow, retailcrmtest.DefaultSite).Seed(rc, bx, size)
	campaignManagers(t, rc, bx, size)
	return fakes{rc: rc, bx: bx}
}

// campaignManagers gives two of the shop's three managers a Bitrix24 user
// with their e-mail (in other letter case; the third's deals get the
// fallback) and hands every ninth order to the next manager after it was
// placed, so the history the campaigns read carries manager changes and
// the deals' responsible users depend on them.
func campaignManagers(t *testing.T, rc *retailcrmtest.Server, bx *bitrixtest.Server, size shop.Size) {
	t.Helper()
	for _, u := range shop.Users() {
		if u.ID == 14 || u.ID == 15 {
			bx.SeedUser(bitrixtest.UserRow{Email: strings.ToUpper(u.Email), Name: u.FirstName, LastName: u.LastName, Active: true})
		}
	}
	managers := shop.Managers()
	for id := int64(4); id <= int64(size.Orders); id += 9 {
		o, ok := rc.Order(id)
		if !ok {
			continue
		}
		next := managers[(slices.Index(managers, o.ManagerID)+1)%len(managers)]
		if err := rc.UpdateOrder(id, func(o *retailcrm.Order) { o.ManagerID = next }); err != nil {
			t.Fatal(err)
		}
	}
}

func (f fakes) campaignConfig(t *testing.T, dir string) string {
	t.Helper()
	return writeConfig(t, dir, campaignYAML(f.rc.URL(), f.rc.APIKey(), f.bx.WebhookURL(), ""))
}

// campaignYAML is the configuration of a crash campaign's runs: both
// services at full speed, the full mapping with return → APOLOGY, then
// extra (more of the mapping section).
func campaignYAML(rcURL, apiKey, webhook, extra string) string {
	return fmt.Sprintf(`retailcrm:
  url: %s
  api_key: %s
  rate: 100
bitrix:
  webhook_url: %s
  rate: 150
  burst: 40
%s    return: APOLOGY
%s`, rcURL, apiKey, webhook, fullMapping, extra)
}

// startBinary starts the test binary as crmsync without waiting.
func startBinary(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asMainEnv+"=1", raceEnv())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// toCompletion runs command (pull or backfill) until a run finishes (0, or
// 3 for the orders the shop parks on purpose) and returns its stderr.
func toCompletion(t *testing.T, dir, cfg, db, command string) string {
	t.Helper()
	for i := 0; i < 5; i++ {
		r := runBinary(t, dir, nil, "--config", cfg, "--db", db, command)
		if r.code == exitOK || r.code == exitParked {
			return r.stderr
		}
		t.Logf("%s exited %d: %s", command, r.code, r.stderr)
	}
	t.Fatalf("%s did not complete in 5 runs", command)
	return ""
}

// referenceRun runs command to completion on a fresh campaign shop without
// faults and returns the shop, the portal it ended with, and how long it
// took. A reference with duplicates or missing deals fails the test.
func referenceRun(t *testing.T, size shop.Size, command string) (fakes, portalState, time.Duration) {
	t.Helper()
	ref := campaignShop(t, size)
	dir := t.TempDir()
	start := time.Now()
	toCompletion(t, dir, ref.campaignConfig(t, dir), filepath.Join(dir, "ref.db"), command)
	took := time.Since(start)
	want := snapshot(ref.bx)
	if len(want.Duplicates) > 0 || len(want.Deals) < size.Orders-size.Orders/20 || len(want.Companies) == 0 {
		t.Fatalf("reference %s is wrong: %d deals, %d companies, duplicates %v", command, len(want.Deals), len(want.Companies), want.Duplicates)
	}
	withRows := 0
	for _, d := range want.Deals {
		if len(d.Rows) > 0 {
			withRows++
		}
	}
	if withRows < len(want.Deals)/2 {
		t.Fatalf("reference %s: only %d of %d deals have product rows", command, withRows, len(want.Deals))
	}
	t.Logf("reference %s: %v, %d deals (%d with rows), %d contacts, %d companies", command, took, len(want.Deals), withRows, len(want.Contacts), len(want.Companies))
	return ref, want, took
}

// portalState is the fake portal reduced to what must be the same after any
// crash: keyed by ORIGIN_ID (or, for contacts a manager typed in, by their id,
// which seeding fixes), never by the ids the portal handed out.
type portalState struct {
	Deals      map[string]dealState
	Contacts   map[string]contactState
	Companies  map[string]companyState
	Duplicates []string
}

type dealState struct {
	Title, Stage, Amount, Currency, Contact string
	Assigned                                string // ASSIGNED_BY_ID: follows the order's manager
	Comments                                []string
	// Rows are the deal's product rows in their order: a row twice, or
	// one missing, must show.
	Rows                   []string
	BeginDate, CloseDate   string
	UTMSource, UTMCampaign string
	Company                string
}

// companyState is a company with its requisites (one line each, so a
// duplicate requisite shows) and the contacts linked to it.
type companyState struct {
	Title      string
	Requisites []string
	Contacts   []string
}

type contactState struct {
	Name, LastName string
	Phones, Emails []string // duplicates kept: a duplicate row must show
}

func snapshot(bx *bitrixtest.Server) portalState {
	st := portalState{Deals: map[string]dealState{}, Contacts: map[string]contactState{}, Companies: map[string]companyState{}}
	contactKey := map[int64]string{}
	for _, c := range bx.Contacts() {
		key := bitrixtest.Str(c.Fields["ORIGIN_ID"])
		if key == "" {
			key = fmt.Sprintf("manual:%d", c.ID)
		}
		contactKey[c.ID] = key
		cs := contactState{Name: bitrixtest.Str(c.Fields["NAME"]), LastName: bitrixtest.Str(c.Fields["LAST_NAME"])}
		for _, m := range c.Multi["PHONE"] {
			cs.Phones = append(cs.Phones, m.Value)
		}
		for _, m := range c.Multi["EMAIL"] {
			cs.Emails = append(cs.Emails, m.Value)
		}
		sort.Strings(cs.Phones)
		sort.Strings(cs.Emails)
		if _, dup := st.Contacts[key]; dup {
			st.Duplicates = append(st.Duplicates, "contact "+key)
		}
		st.Contacts[key] = cs
	}
	companyKey := map[int64]string{}
	for _, c := range bx.Companies() {
		key := bitrixtest.Str(c.Fields["ORIGIN_ID"])
		if key == "" {
			key = fmt.Sprintf("manual:%d", c.ID)
		}
		companyKey[c.ID] = key
		cs := companyState{Title: bitrixtest.Str(c.Fields["TITLE"])}
		for _, l := range bx.CompanyContacts(c.ID) {
			cs.Contacts = append(cs.Contacts, contactKey[l.ContactID])
		}
		sort.Strings(cs.Contacts)
		if _, dup := st.Companies[key]; dup {
			st.Duplicates = append(st.Duplicates, "company "+key)
		}
		st.Companies[key] = cs
	}
	for _, r := range bx.Requisites() {
		var id int64
		fmt.Sscan(bitrixtest.Str(r.Fields["ENTITY_ID"]), &id)
		key, ok := companyKey[id]
		if !ok || bitrixtest.Str(r.Fields["ENTITY_TYPE_ID"]) != "4" {
			continue
		}
		cs := st.Companies[key]
		cs.Requisites = append(cs.Requisites, strings.Join([]string{bitrixtest.Str(r.Fields["PRESET_ID"]), bitrixtest.Str(r.Fields["NAME"]),
			bitrixtest.Str(r.Fields["RQ_INN"]), bitrixtest.Str(r.Fields["RQ_KPP"]), bitrixtest.Str(r.Fields["RQ_OGRN"]),
			bitrixtest.Str(r.Fields["RQ_OGRNIP"])}, "|"))
		sort.Strings(cs.Requisites)
		st.Companies[key] = cs
	}
	comments := map[int64][]string{}
	for _, c := range bx.Comments() {
		if c.EntityType == "deal" {
			comments[c.EntityID] = append(comments[c.EntityID], c.Comment)
		}
	}
	for _, d := range bx.Deals() {
		key := bitrixtest.Str(d.Fields["ORIGIN_ID"])
		ds := dealState{Title: bitrixtest.Str(d.Fields["TITLE"]), Stage: bitrixtest.Str(d.Fields["STAGE_ID"]),
			Amount: bitrixtest.Str(d.Fields["OPPORTUNITY"]), Currency: bitrixtest.Str(d.Fields["CURRENCY_ID"]),
			Assigned: bitrixtest.Str(d.Fields["ASSIGNED_BY_ID"]), Comments: comments[d.ID]}
		var cid int64
		fmt.Sscan(bitrixtest.Str(d.Fields["CONTACT_ID"]), &cid)
		ds.Contact = contactKey[cid]
		var co int64
		fmt.Sscan(bitrixtest.Str(d.Fields["COMPANY_ID"]), &co)
		ds.Company = companyKey[co]
		sort.Strings(ds.Comments)
		for _, r := range bx.ProductRows("deal", d.ID) {
			ds.Rows = append(ds.Rows, fmt.Sprintf("%d %s %s×%s -%s", r.ProductID, r.ProductName, r.Price, r.Quantity, r.DiscountSum))
		}
		ds.BeginDate, ds.CloseDate = d.Day("BEGINDATE"), d.Day("CLOSEDATE")
		ds.UTMSource, ds.UTMCampaign = d.Str("UTM_SOURCE"), d.Str("UTM_CAMPAIGN")
		if _, dup := st.Deals[key]; dup {
			st.Duplicates = append(st.Duplicates, "deal "+key)
		}
		st.Deals[key] = ds
	}
	sort.Strings(st.Duplicates)
	return st
}

// TestPullSurvivesSIGKILL kills the real binary at seeded moments of a pull,
// runs it to completion, and requires the fake portal to end exactly as after
// a run that was never interrupted: no duplicate deal, contact, multifield
// row or comment, and nothing missing.
func TestPullSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash campaign")
	}
	t.Parallel()
	size := campaignSize(t, 600)

	ref, want, took := referenceRun(t, size, "pull")
	assignees := map[string]bool{}
	for _, d := range want.Deals {
		assignees[d.Assigned] = true
	}
	if len(assignees) < 3 {
		t.Fatalf("the reference's deals go to %v; want both matched managers and the fallback", assignees)
	}

	// The comparison must be able to fail: a duplicate deal, a duplicate
	// phone row and a lost comment each show up.
	for name, spoil := range map[string]func(*portalState){
		"duplicate deal":      func(p *portalState) { p.Duplicates = append(p.Duplicates, "deal 1") },
		"duplicate phone":     func(p *portalState) { spoilContact(p) },
		"lost comment":        func(p *portalState) { spoilComment(p) },
		"other manager":       func(p *portalState) { spoilAssigned(p) },
		"duplicate requisite": func(p *portalState) { spoilRequisite(p) },
	} {
		spoiled := snapshot(ref.bx)
		spoil(&spoiled)
		if cmp.Equal(want, spoiled) {
			t.Fatalf("the comparison does not notice a %s", name)
		}
	}

	// Spread the kills over the whole run: lookups, writes and commits.
	for _, at := range killPoints(took, 1, 0.05, 20) {
		t.Run(fmt.Sprintf("kill_at_%s", at.Round(time.Millisecond)), func(t *testing.T) {
			f := campaignShop(t, size)
			dir := t.TempDir()
			cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "crash.db")
			killAfter(t, dir, at, "--config", cfg, "--db", db, "-q", "pull")
			toCompletion(t, dir, cfg, db, "pull")
			got := snapshot(f.bx)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("portal after a kill at %v differs from the uninterrupted run (-want +got):\n%s", at, truncate(diff, 4000))
			}
		})
	}

	// Killed, and then the database is lost too: the remote keys are the
	// truth, so the next runs still create nothing twice.
	t.Run("kill_then_lose_database", func(t *testing.T) {
		f := campaignShop(t, size)
		dir := t.TempDir()
		cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "lost.db")
		killAfter(t, dir, took/2, "--config", cfg, "--db", db, "-q", "pull")
		loseDatabase(t, db)
		toCompletion(t, dir, cfg, db, "pull")
		if diff := cmp.Diff(want, snapshot(f.bx)); diff != "" {
			t.Errorf("portal after a kill and a lost database differs (-want +got):\n%s", truncate(diff, 4000))
		}
	})
}

// spoilRequisite doubles a company's requisite; the shop must have one.
func spoilRequisite(p *portalState) {
	for k, c := range p.Companies {
		if len(c.Requisites) > 0 {
			c.Requisites = append(slices.Clone(c.Requisites), c.Requisites[0])
			p.Companies[k] = c
			return
		}
	}
	panic("the campaign shop has no company with a requisite")
}

func spoilContact(p *portalState) {
	for k, c := range p.Contacts {
		if len(c.Phones) > 0 {
			c.Phones = append(c.Phones, c.Phones[0])
			p.Contacts[k] = c
			return
		}
	}
}

func spoilAssigned(p *portalState) {
	for k, d := range p.Deals {
		d.Assigned += "0"
		p.Deals[k] = d
		return
	}
}

func spoilComment(p *portalState) {
	for k, d := range p.Deals {
		if len(d.Comments) > 0 {
			d.Comments = d.Comments[1:]
			p.Deals[k] = d
			return
		}
	}
	// No comments at all would itself be wrong for this shop.
	p.Deals["none"] = dealState{}
}

// killPoints spreads n kill moments over a run that took took: the i-th
// at from+0.9·i/n of it, jittered by ±20% from a generator seeded with
// seed, so that a campaign kills in every phase and the same way each time.
func killPoints(took time.Duration, seed uint64, from float64, n int) []time.Duration {
	rng := rand.New(rand.NewPCG(20261129, seed))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(took) * (from + 0.9*float64(i)/float64(n)) * (0.8 + 0.4*rng.Float64()))
	}
	return out
}

// killAfter starts crmsync with args, SIGKILLs it after d and reaps it.
func killAfter(t *testing.T, dir string, d time.Duration, args ...string) {
	t.Helper()
	cmd := startBinary(t, dir, args...)
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// loseDatabase deletes the database with its -wal, -shm and lock files.
func loseDatabase(t *testing.T, db string) {
	t.Helper()
	files, _ := filepath.Glob(db + "*")
	for _, p := range files {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n... " + fmt.Sprint(strings.Count(s[n:], "\n")) + " more lines"
}
