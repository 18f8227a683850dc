package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// completionCommand prints shell completion scripts, made by cobra's
// generators from the command tree: commands, flags and their values.
func (a *app) completionCommand() *cobra.Command {
	var noDesc bool
	cmd := &cobra.Command{
		Use:   "completion SHELL",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `Print a script that makes the shell complete kura's commands, flags and
file names. Each shell's subcommand says how to load the script for the
current session and for every new one; kura completion SHELL --help shows
it. The script calls kura to complete, so it stays current as kura is
upgraded.`,
		Example: `  source <(kura completion bash)
  kura completion zsh > "${fpath[1]}/_kura"
  kura completion fish > ~/.config/fish/completions/kura.fish
  kura completion powershell | Out-String | Invoke-Expression`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageError{fmt.Errorf("no completion for the shell %q: name bash, zsh, fish or powershell", args[0])}
		},
	}
	cmd.PersistentFlags().BoolVar(&noDesc, "no-descriptions", false, "complete without the one-line description of each command and flag")
	shells := []struct {
		name, short, long, example string
		gen                        func(root *cobra.Command) error
	}{
		{
			name:  "bash",
			short: "Print the bash completion script",
			long: `Print the completion script for bash. It needs the bash-completion
package (most Linux distributions install it; on macOS: brew install
bash-completion@2).

For the current shell:
  source <(kura completion bash)

For every new shell, on Linux:
  kura completion bash > /etc/bash_completion.d/kura
or without root:
  mkdir -p ~/.local/share/bash-completion/completions
  kura completion bash > ~/.local/share/bash-completion/completions/kura
on macOS:
  kura completion bash > $(brew --prefix)/etc/bash_completion.d/kura`,
			example: `  source <(kura completion bash)
  kura completion bash > ~/.local/share/bash-completion/completions/kura`,
			gen: func(root *cobra.Command) error { return root.GenBashCompletionV2(a.stdout, !noDesc) },
		},
		{
			name:  "zsh",
			short: "Print the zsh completion script",
			long: `Print the completion script for zsh. Completion must be on: if it is not,
add this line to ~/.zshrc once:
  autoload -U compinit; compinit

For the current shell:
  source <(kura completion zsh)

For every new shell, write it to a directory of $fpath:
  kura completion zsh > "${fpath[1]}/_kura"
on macOS with Homebrew:
  kura completion zsh > $(brew --prefix)/share/zsh/site-functions/_kura
then start a new shell.`,
			example: `  source <(kura completion zsh)
  kura completion zsh > "${fpath[1]}/_kura"`,
			gen: func(root *cobra.Command) error {
				if noDesc {
					return root.GenZshCompletionNoDesc(a.stdout)
				}
				return root.GenZshCompletion(a.stdout)
			},
		},
		{
			name:  "fish",
			short: "Print the fish completion script",
			long: `Print the completion script for fish.

For the current shell:
  kura completion fish | source

For every new shell:
  kura completion fish > ~/.config/fish/completions/kura.fish`,
			example: `  kura completion fish | source
  kura completion fish > ~/.config/fish/completions/kura.fish`,
			gen: func(root *cobra.Command) error { return root.GenFishCompletion(a.stdout, !noDesc) },
		},
		{
			name:  "powershell",
			short: "Print the PowerShell completion script",
			long: `Print the completion script for PowerShell.

For the current session:
  kura completion powershell | Out-String | Invoke-Expression

For every new session, add that line to your PowerShell profile (the file
$PROFILE names).`,
			example: `  kura completion powershell | Out-String | Invoke-Expression
  kura completion powershell >> $PROFILE`,
			gen: func(root *cobra.Command) error {
				if noDesc {
					return root.GenPowerShellCompletion(a.stdout)
				}
				return root.GenPowerShellCompletionWithDesc(a.stdout)
			},
		},
	}
	for _, sh := range shells {
		gen := sh.gen
		cmd.AddCommand(&cobra.Command{
			Use:               sh.name,
			Short:             sh.short,
			Long:              sh.long,
			Example:           sh.example,
			Args:              cobra.NoArgs,
			ValidArgsFunction: cobra.NoFileCompletions,
			RunE: func(cmd *cobra.Command, args []string) error {
				return gen(cmd.Root())
			},
		})
	}
	return cmd
}

// flagValues are the values the shells complete for flags that take one
// of a few words.
var flagValues = map[string][]string{
	"input-type":       {"yaml", "json", "dotenv", "ini", "toml", "binary"},
	"output-type":      {"yaml", "json", "dotenv", "ini", "toml", "binary", "k8s-secret"},
	"decryption-order": {"age", "pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"},
}

// completeFlagValues registers flagValues for every command of the tree
// that has such a flag.
func completeFlagValues(cmd *cobra.Command) {
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		values, ok := flagValues[f.Name]
		if !ok {
			return
		}
		list := values
		if f.Name == "decryption-order" {
			// A comma-separated list: complete the next element.
			_ = cmd.RegisterFlagCompletionFunc(f.Name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				done, _ := cutLast(toComplete, ",")
				var out []string
				for _, v := range list {
					out = append(out, done+v)
				}
				return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			})
			return
		}
		_ = cmd.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(list, cobra.ShellCompDirectiveNoFileComp))
	})
	for _, c := range cmd.Commands() {
		completeFlagValues(c)
	}
}

// cutLast splits s after the last sep: "age,pg" gives "age," and "pg".
func cutLast(s, sep string) (before, after string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s
	}
	return s[:i+len(sep)], s[i+len(sep):]
}
