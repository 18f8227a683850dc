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
}

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
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
	legacy.register(root.Flags())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(a.encryptCommand(), a.decryptCommand(), a.versionCommand(), a.updatekeysCommand(), a.rotateCommand(), a.groupsCommand(), a.filestatusCommand(), a.inspectCommand(), a.setCommand(), a.unsetCommand(), a.editCommand(), a.diffCommand(), a.scanCommand(), a.gitCommand(), a.publishCommand())
	root.AddCommand(a.execEnvCommand(), a.execFileCommand(), a.krmCommand())
	root.AddCommand(a.keyserviceCommand()) // cmd_keyservice.go
	root.CompletionOptions.DisableDefaultCmd = true
	return root
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
