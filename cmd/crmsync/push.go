package main

import (
	"github.com/spf13/cobra"
)

type pushOptions struct {
	runOptions
}

func (a *app) pushCmd() *cobra.Command {
	opts := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Carry Bitrix24 deal stages and manager comments back to RetailCRM orders",
		Long: `push reads Bitrix24's stage history from the stored cursor, maps each linked
deal's latest stage to a RetailCRM status (mapping.stages, else the inverse of
mapping.statuses) and writes it to the order; new timeline comments written by
people are appended to the order's manager comment once each. Values crmsync
wrote itself are never echoed back.`,
		Example: `  crmsync push
  crmsync push --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			release, err := a.prepareRun(cmd.Context(), "push", opts.dryRun)
			if err != nil {
				return err
			}
			defer release()
			return &errEngineMissing{command: "push"}
		},
	}
	opts.addFlags(cmd, true)
	return cmd
}
