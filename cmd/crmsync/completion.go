package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) completionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `completion prints a script that teaches your shell crmsync's commands and
flags. Load it in the current shell, or install it where your shell looks for
completions.`,
		Example: `  source <(crmsync completion bash)
  crmsync completion zsh > "${fpath[1]}/_crmsync"
  crmsync completion fish > ~/.config/fish/completions/crmsync.fish`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      needArgs(1, 1, "name one shell: bash, zsh, fish or powershell"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.out, true)
			case "zsh":
				return root.GenZshCompletion(a.out)
			case "fish":
				return root.GenFishCompletion(a.out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(a.out)
			default:
				return &usageError{err: fmt.Errorf("%s: unknown shell %q: bash, zsh, fish or powershell", cmd.CommandPath(), args[0])}
			}
		},
	}
}
