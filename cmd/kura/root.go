package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// globalFlags are the flags sops accepts before the subcommand. kura also
// accepts them after it.
type globalFlags struct {
	indent                  int
	indentSet               bool
	config                  string
	macOnlyEncrypted        bool
	unencryptedCommentRegex string
	encryptedCommentRegex   string
	verbose                 bool
	disableVersionCheck     bool
	auditLog                string
	noColor                 bool

	// keyService: --keyservice, --enable-local-keyservice (keysources.go)
	keyService keyServiceFlags
}

func (a *app) addGlobalFlags(fs *pflag.FlagSet) {
	g := &a.global
	fs.IntVar(&g.indent, "indent", 0, "spaces of indentation for YAML and JSON output (JSON: -1 or unset for a TAB)")
	fs.StringVar(&g.config, "config", "", "path of the .sops.yaml to use instead of searching for one (also SOPS_CONFIG)")
	fs.BoolVar(&g.macOnlyEncrypted, "mac-only-encrypted", false, "compute the MAC over encrypted values only")
	fs.StringVar(&g.unencryptedCommentRegex, "unencrypted-comment-regex", "", "leave values after a comment matching this regex in clear")
	fs.StringVar(&g.encryptedCommentRegex, "encrypted-comment-regex", "", "encrypt only values after a comment matching this regex")
	fs.BoolVarP(&g.verbose, "verbose", "", false, "accepted for compatibility with sops; kura reports what it does on error only")
	fs.StringVar(&g.auditLog, "audit-log", "", "append a JSON line per file read (decrypt, edit, exec-env, exec-file, publish) to this file (also KURA_AUDIT_LOG); values are never logged")
	fs.BoolVar(&g.disableVersionCheck, "disable-version-check", false, "accepted for compatibility with sops; kura never checks for updates over the network")
	fs.BoolVar(&g.noColor, "no-color", false, "never colour the output (also NO_COLOR); colour is only used on a terminal")
}

// rootCommand builds the whole command tree.
func (a *app) rootCommand() *cobra.Command { return a.rootCommandFor(nil) }

// rootCommandFor builds the command tree for one command line. When its
// first word names a command, the tree holds only that command: building
// every command and its flags is a measurable part of kura's start-up,
// which CI pays on every call. Help, completion, sops's legacy form and
// anything unknown get the whole tree.
func (a *app) rootCommandFor(args []string) *cobra.Command {
	var legacy legacyFlags
	root := &cobra.Command{
		Use:   "kura",
		Short: "Keep secrets in Git: encrypt the values of YAML, JSON, dotenv, INI, TOML and binary files",
		Long: `kura encrypts only the values of structured files, so keys, structure and
comments stay readable in reviews. It reads and writes the SOPS v3 format
and accepts sops's command line: alias sops=kura works.`,
		Example: `  kura encrypt --age age1... secrets.yaml > secrets.enc.yaml
  kura decrypt secrets.enc.yaml
  kura decrypt --extract '["db"]["password"]' secrets.enc.yaml
  kura -d secrets.enc.yaml          # sops's legacy form`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runLegacy(cmd, &legacy, args)
		},
	}
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print the version")
	a.addGlobalFlags(root.PersistentFlags())
	a.addKeyServiceFlags(root.PersistentFlags()) // keysources.go
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	commands := a.commands()
	named := false
	if len(args) > 0 && args[0] != "completion" {
		for _, c := range commands {
			if c.name == args[0] {
				commands = []namedCommand{c}
				named = true
				break
			}
		}
	}
	if !named {
		// sops's legacy form is the root command's own: a named
		// command never parses these flags.
		legacy.register(root.Flags())
		if !mayNameCommand(args, commands) {
			// No argument names a command or asks for help, so cobra
			// runs the root command whatever else the tree holds:
			// building every command and its flags would cost a
			// millisecond of each sops-style run (kura -d FILE).
			commands = nil
		}
	}
	for _, c := range commands {
		root.AddCommand(c.build())
	}
	// kura's own completion command (cmd_completion.go) replaces cobra's.
	root.CompletionOptions.DisableDefaultCmd = true
	groupCommands(root)
	if args == nil || (len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd)) {
		// Flag values are completed by the shell calling kura
		// __complete; other command lines never ask for them.
		completeFlagValues(root)
	}
	return root
}

// mayNameCommand reports whether a command line that does not start with a
// command's name may still reach one, or the list of them: an argument
// further on names a command or help (cobra looks for the command after
// the flags), or the line asks for help or is empty. Any argument equal to
// a name counts, even a flag's value: the whole tree is only slower.
func mayNameCommand(args []string, commands []namedCommand) bool {
	if len(args) == 0 {
		return true
	}
	for _, arg := range args {
		switch {
		case arg == "help" || arg == "--help" || strings.HasPrefix(arg, "--help="):
			return true
		case strings.HasPrefix(arg, cobra.ShellCompRequestCmd):
			return true
		case len(arg) > 1 && arg[0] == '-' && arg[1] != '-' && strings.ContainsRune(arg, 'h'):
			return true // -h, or -h among other shorthands
		}
		for _, c := range commands {
			if arg == c.name {
				return true
			}
		}
	}
	return false
}

// commandGroups are the headings of kura --help, and the commands under
// each. A command missing here is listed under "Additional Commands", and
// TestCommandHelp fails.
var commandGroups = []struct {
	id, title string
	commands  []string
}{
	{"everyday", "Everyday commands:", []string{"encrypt", "decrypt", "edit", "set", "unset", "diff"}},
	{"keys", "Keys and recipients:", []string{"updatekeys", "rotate", "groups", "inspect", "filestatus", "keyservice"}},
	{"repository", "Repository commands:", []string{"git", "scan"}},
	{"deploy", "Deploying secrets:", []string{"exec-env", "exec-file", "krm", "publish"}},
	{"misc", "Other commands:", []string{"version", "completion", "help"}},
}

// namedCommand is a command of kura and the function that builds it.
type namedCommand struct {
	name  string
	build func() *cobra.Command
}

// commands lists every command of kura. TestCommandNames checks each name
// against the command its function builds.
func (a *app) commands() []namedCommand {
	return []namedCommand{
		{"encrypt", a.encryptCommand},
		{"decrypt", a.decryptCommand},
		{"version", a.versionCommand},
		{"updatekeys", a.updatekeysCommand},
		{"rotate", a.rotateCommand},
		{"groups", a.groupsCommand},
		{"filestatus", a.filestatusCommand},
		{"inspect", a.inspectCommand},
		{"set", a.setCommand},
		{"unset", a.unsetCommand},
		{"edit", a.editCommand},
		{"diff", a.diffCommand},
		{"scan", a.scanCommand},
		{"git", a.gitCommand},
		{"publish", a.publishCommand},
		{"exec-env", a.execEnvCommand},
		{"exec-file", a.execFileCommand},
		{"krm", a.krmCommand},
		{"keyservice", a.keyserviceCommand}, // cmd_keyservice.go
		{"completion", a.completionCommand}, // cmd_completion.go
	}
}

// groupCommands sorts root's commands under commandGroups' headings, and
// gives cobra's help command an example like every other command's.
func groupCommands(root *cobra.Command) {
	root.SetHelpCommandGroupID("misc")
	root.InitDefaultHelpCmd()
	byName := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		byName[c.Name()] = c
	}
	for _, g := range commandGroups {
		root.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
		for _, name := range g.commands {
			if c := byName[name]; c != nil {
				c.GroupID = g.id
			}
		}
	}
	if help := byName["help"]; help != nil {
		help.Short = "Show the help of any command"
		help.Long = `Show the help of a command: what it does, its usage, examples and flags.
kura help COMMAND is kura COMMAND --help; kura help alone lists the
commands. Manual pages with the same text are in docs/man.`
		help.Example = `  kura help
  kura help encrypt
  kura help git install`
	}
}

// selectionFlags are the flags that choose which values are encrypted.
type selectionFlags struct {
	unencryptedSuffix string
	encryptedSuffix   string
	unencryptedRegex  string
	encryptedRegex    string
}

func (s *selectionFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.unencryptedSuffix, "unencrypted-suffix", "", "leave values under keys ending with this suffix in clear (default \"_unencrypted\")")
	fs.StringVar(&s.encryptedSuffix, "encrypted-suffix", "", "encrypt only values under keys ending with this suffix")
	fs.StringVar(&s.unencryptedRegex, "unencrypted-regex", "", "leave values under keys matching this regex in clear")
	fs.StringVar(&s.encryptedRegex, "encrypted-regex", "", "encrypt only values under keys matching this regex")
}

// config returns the selection given on the command line, with the
// global comment-regex flags and --mac-only-encrypted.
func (a *app) selection(s *selectionFlags) rules.Config {
	return rules.Config{
		UnencryptedSuffix:       s.unencryptedSuffix,
		EncryptedSuffix:         s.encryptedSuffix,
		UnencryptedRegex:        s.unencryptedRegex,
		EncryptedRegex:          s.encryptedRegex,
		UnencryptedCommentRegex: a.global.unencryptedCommentRegex,
		EncryptedCommentRegex:   a.global.encryptedCommentRegex,
		MACOnlyEncrypted:        a.global.macOnlyEncrypted,
	}
}

// legacyFlags are sops's top-level mode flags: kura -d FILE, kura -e FILE.
type legacyFlags struct {
	decrypt, encrypt bool
	io               ioFlags
	dec              decryptFlags
	enc              encryptFlags
}

func (l *legacyFlags) register(fs *pflag.FlagSet) {
	fs.BoolVarP(&l.decrypt, "decrypt", "d", false, "decrypt a file and print the result (sops's legacy form of kura decrypt)")
	fs.BoolVarP(&l.encrypt, "encrypt", "e", false, "encrypt a file and print the result (sops's legacy form of kura encrypt)")
	l.io.register(fs)
	l.dec.register(fs)
	l.enc.register(fs)
}

func (a *app) runLegacy(cmd *cobra.Command, l *legacyFlags, args []string) error {
	if v, _ := cmd.Flags().GetBool("version"); v {
		_, err := a.stdout.Write([]byte(versionString() + "\n"))
		return err
	}
	if err := a.resolveGlobal(cmd); err != nil {
		return err
	}
	switch {
	case l.decrypt && l.encrypt:
		return &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("give only one of --decrypt and --encrypt")}
	case l.encrypt:
		return a.encrypt(cmd, &l.io, &l.enc, args)
	case l.decrypt:
		return a.decrypt(cmd, &l.io, &l.dec, args)
	}
	if len(args) == 0 {
		return cmd.Help()
	}
	return usageError{errors.New("no action given for " + strings.Join(args, " ") + ": use `kura decrypt FILE` or `kura encrypt FILE` (sops's -d and -e also work)")}
}

// resolveGlobal applies environment defaults to global flags.
func (a *app) resolveGlobal(cmd *cobra.Command) error {
	a.global.indentSet = cmd.Flags().Changed("indent")
	if a.global.config == "" {
		a.global.config = a.getenv("SOPS_CONFIG")
	}
	if a.global.indentSet && a.global.indent < -1 {
		return &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("--indent must be -1 or more")}
	}
	return nil
}
