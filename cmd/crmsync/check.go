package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/sync/config"
)

type checkOptions struct {
	json bool
	fix  bool
	init bool
}

// finding is one line of the check report.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail, fixed
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// The JSON document of `check --json`; fields are only ever added.
type checkReport struct {
	OK       bool      `json:"ok"`
	Findings []finding `json:"findings"`
}

const (
	checkOK    = "ok"
	checkWarn  = "warn"
	checkFail  = "fail"
	checkFixed = "fixed"
)

func (r *checkReport) add(check, status, detail, fix string) {
	r.Findings = append(r.Findings, finding{Check: check, Status: status, Detail: detail, Fix: fix})
	if status == checkFail {
		r.OK = false
	}
}

func (r *checkReport) failures() int {
	n := 0
	for _, f := range r.Findings {
		if f.Status == checkFail {
			n++
		}
	}
	return n
}

// errCheckFailed makes check exit 4 after printing its report.
type errCheckFailed struct{ n int }

func (e *errCheckFailed) Error() string { return fmt.Sprintf("check: %d problem(s) found", e.n) }
func (e *errCheckFailed) Unwrap() error { return config.ErrInvalid }

func (a *app) checkCmd() *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and reach both APIs",
		Long: `check validates crmsync.yaml and the environment, then reaches RetailCRM and
Bitrix24 with the configured credentials and reports, each with a fix:
  - files holding a secret (a *_file, or the config file itself) that group
    or others may read (a warning, with the chmod to run);
  - the API key's scopes and store access, the account's time zone;
  - RetailCRM statuses that no mapping covers, and mapping entries that name
    statuses, groups or stores RetailCRM does not have;
  - the webhook's scopes (crm, plus task, im or bizproc when rules or alerts
    use them), the funnel, mapped stages missing from it, sources;
  - fields named in mapping.deal_fields / contact_fields that do not exist;
  - targets of mapping.values that are no item of their list field, and list
    fields written without a mapping.values table;
  - ORIGIN_IDs that pull found carried by several deals, leads or contacts
    (copies made by people or other tools) and that are still shared;
  - the scopes that match order managers to Bitrix24 users by e-mail
    (user_read; user or user_basic), and the RetailCRM managers that have
    no Bitrix24 user;
  - the request pacing (bitrix.rate, bitrix.burst) and what the portal's
    answers showed of its limits: requests refused for rate or operating
    time, and whether it counts operating time at all (an on-premise portal
    sets its own limits);
  - for crmsync serve (serve.public_url): the RetailCRM trigger URL (its
    token shown as ***) and the Bitrix24 outbound webhook's handler URL with
    the events to tick.
With --fix it creates the missing UF_CRM_* user fields the mapping needs, and
binds serve's Bitrix24 event handlers where the portal allows it (it allows
event.bind only to applications: with an inbound webhook check prints the
steps to take by hand).
With --init it prints a starter configuration whose status mapping is derived
from both live dictionaries (RetailCRM status groups → Bitrix24 stage
semantics). It writes nothing else. Exit 0 when everything is fine, 4 otherwise.`,
		Example: `  crmsync check
  crmsync check --fix
  CRMSYNC_RETAILCRM_URL=https://shop.retailcrm.ru CRMSYNC_RETAILCRM_API_KEY=... \
    CRMSYNC_BITRIX_WEBHOOK_URL=https://shop.bitrix24.ru/rest/1/.../ crmsync check --init > crmsync.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.init && opts.fix {
				return &usageError{err: fmt.Errorf("check: --init and --fix do not go together")}
			}
			cfg, err := a.config(true)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if opts.init {
				return a.checkInit(ctx, cfg)
			}
			rep := a.runChecks(ctx, cfg, opts.fix)
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("check: %w", err) // interrupted: the findings are incomplete
			}
			if opts.json {
				if err := writeJSON(a.out, a.redactor, rep); err != nil {
					return err
				}
			} else {
				var b strings.Builder
				writeCheckText(&b, rep)
				if _, err := io.WriteString(a.out, a.redactor.String(b.String())); err != nil {
					return err
				}
			}
			if !rep.OK {
				return &errCheckFailed{n: rep.failures()}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the findings as JSON")
	cmd.Flags().BoolVar(&opts.fix, "fix", false, "create missing UF_CRM_* user fields named in mapping.deal_fields and mapping.contact_fields; bind serve's Bitrix24 event handlers where the portal allows it")
	cmd.Flags().BoolVar(&opts.init, "init", false, "print a starter configuration derived from both live dictionaries")
	return cmd
}

func (a *app) runChecks(ctx context.Context, cfg *config.Config, fix bool) *checkReport {
	rep := &checkReport{OK: true, Findings: []finding{}}
	file := cfg.File
	if file == "" {
		file = "environment only"
	}
	rep.add("config", checkOK, "configuration is valid ("+file+")", "")
	checkSecretFiles(cfg, rep)
	a.checkRetailCRM(ctx, cfg, rep)
	a.checkBitrix(ctx, cfg, rep, fix)
	a.checkRules(ctx, cfg, rep, fix)
	a.checkManagers(ctx, cfg, rep)
	a.checkServe(ctx, cfg, rep, fix)
	return rep
}

func writeCheckText(w io.Writer, rep *checkReport) {
	marks := map[string]string{checkOK: "ok  ", checkWarn: "WARN", checkFail: "FAIL", checkFixed: "FIX "}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%s %-22s %s\n", marks[f.Status], f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(w, "     %-22s fix: %s\n", "", f.Fix)
		}
	}
	if rep.OK {
		fmt.Fprintln(w, "everything needed is in place")
	} else {
		fmt.Fprintf(w, "%d problem(s) to fix before syncing\n", rep.failures())
	}
}
