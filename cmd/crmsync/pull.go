package main

import (
	"github.com/spf13/cobra"
)

type pullOptions struct {
	runOptions
}

func (a *app) pullCmd() *cobra.Command {
	opts := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull",
		Short: "Copy RetailCRM order changes into Bitrix24 contacts and deals",
		Long: `pull reads RetailCRM's order history from the stored cursor, 100 records a
page, and upserts the Bitrix24 contacts and deals the orders belong to, within
the portal's request limits. Deals and contacts are keyed by ORIGINATOR_ID and
ORIGIN_ID, so a lost database never creates duplicates. The cursor moves only
after a page's effects are written or parked.

With --dry-run it plans exactly as a real run and prints the diff report,
writing nothing to either API or the database.`,
		Example: `  crmsync pull
  crmsync pull --max-duration 4m
  crmsync pull --dry-run --detailed-exitcode`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			release, err := a.prepareRun(cmd.Context(), "pull", opts.dryRun)
			if err != nil {
				return err
			}
			defer release()
			return &errEngineMissing{command: "pull"}
		},
	}
	opts.addFlags(cmd, true)
	return cmd
}
