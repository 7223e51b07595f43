package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/sync/config"
)

type checkOptions struct {
	json bool
}

// finding is one line of the check report.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type checkReport struct {
	OK       bool      `json:"ok"`
	Findings []finding `json:"findings"`
}

func (r *checkReport) add(check, status, detail, fix string) {
	r.Findings = append(r.Findings, finding{Check: check, Status: status, Detail: detail, Fix: fix})
	if status == "fail" {
		r.OK = false
	}
}

// errCheckFailed makes check exit 4 after printing its report.
type errCheckFailed struct{ n int }

func (e *errCheckFailed) Error() string { return fmt.Sprintf("check: %d problem(s) found", e.n) }
func (e *errCheckFailed) Unwrap() error { return config.ErrInvalid }

// RetailCRM scopes crmsync cannot work without.
func requiredScopes() []string { return []string{"order_read", "order_write", "reference_read"} }

func (a *app) checkCmd() *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and reach both APIs",
		Long: `check validates crmsync.yaml and the environment, then reaches RetailCRM and
Bitrix24 with the configured credentials and reports, each with a fix: the API
key's scopes, the account's time zone, and the webhook's scopes. It writes
nothing. Exit 0 when everything is fine, 4 otherwise.`,
		Example: `  crmsync check
  crmsync --config /etc/crmsync/shop.yaml check`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config(true)
			if err != nil {
				return err
			}
			rep := a.runChecks(cmd.Context(), cfg)
			if err := cmd.Context().Err(); err != nil {
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
				n := 0
				for _, f := range rep.Findings {
					if f.Status == "fail" {
						n++
					}
				}
				return &errCheckFailed{n: n}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the findings as JSON")
	return cmd
}

func (a *app) runChecks(ctx context.Context, cfg *config.Config) *checkReport {
	rep := &checkReport{OK: true, Findings: []finding{}}
	file := cfg.File
	if file == "" {
		file = "environment only"
	}
	rep.add("config", "ok", "configuration is valid ("+file+")", "")

	rc, err := a.newRetailCRM(cfg, interactive)
	if err != nil {
		rep.add("retailcrm", "fail", err.Error(), "fix retailcrm.url and retailcrm.api_key")
	} else {
		creds, err := rc.Credentials(ctx)
		if err != nil {
			rep.add("retailcrm.credentials", "fail", err.Error(), "check retailcrm.url and that retailcrm.api_key is active")
		} else {
			var missing []string
			for _, s := range requiredScopes() {
				if !slices.Contains(creds.Scopes, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				rep.add("retailcrm.scopes", "fail", "the API key lacks "+strings.Join(missing, ", "),
					"in RetailCRM: Settings → Integration → API keys, allow "+strings.Join(missing, ", "))
			} else {
				rep.add("retailcrm.scopes", "ok", "the API key has "+strings.Join(requiredScopes(), ", "), "")
			}
		}
		settings, err := rc.Settings(ctx)
		switch {
		case err != nil:
			rep.add("retailcrm.timezone", "warn", "cannot read /api/v5/settings: "+err.Error(), "dates are read in UTC until the settings are readable")
		default:
			if _, lerr := settings.Location(); lerr != nil {
				rep.add("retailcrm.timezone", "warn", lerr.Error(), "")
			} else {
				rep.add("retailcrm.timezone", "ok", "account time zone "+settings.Timezone, "")
			}
		}
	}

	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		rep.add("bitrix", "fail", err.Error(), "fix bitrix.webhook_url")
		return rep
	}
	scopes, err := bx.Scope(ctx)
	if err != nil {
		rep.add("bitrix.webhook", "fail", err.Error(), "check bitrix.webhook_url; an administrator who edits a webhook regenerates its secret")
		return rep
	}
	need := []string{"crm"}
	for _, r := range cfg.Rules {
		for action := range r.Do {
			switch action {
			case "task":
				need = append(need, "task")
			case "notify":
				need = append(need, "im")
			case "workflow":
				need = append(need, "bizproc")
			}
		}
	}
	if len(cfg.Alerts.NotifyUserIDs) > 0 {
		need = append(need, "im")
	}
	slices.Sort(need)
	need = slices.Compact(need)
	var missing []string
	for _, s := range need {
		if !slices.Contains(scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		rep.add("bitrix.scopes", "fail", "the webhook lacks the scope(s) "+strings.Join(missing, ", "),
			"in Bitrix24: Developer resources → Inbound webhook, tick "+strings.Join(missing, ", "))
	} else {
		rep.add("bitrix.scopes", "ok", "the webhook has "+strings.Join(need, ", "), "")
	}
	return rep
}

func writeCheckText(w io.Writer, rep *checkReport) {
	for _, f := range rep.Findings {
		mark := map[string]string{"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[f.Status]
		fmt.Fprintf(w, "%s %-22s %s\n", mark, f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(w, "     %-22s fix: %s\n", "", f.Fix)
		}
	}
	if rep.OK {
		fmt.Fprintln(w, "everything needed is in place")
	}
}
