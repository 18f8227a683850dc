package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/atomicfile"
	"github.com/kura-secrets/kura/internal/gitrepo"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/merge"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

func (a *app) gitMergeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "merge BASE OURS THEIRS PATH",
		Short: "Git's merge driver for SOPS files (git config merge.kura.driver)",
		Long: `Merge three versions of a SOPS file by key path, as Git's merge driver:
BASE, OURS and THEIRS are git's %O %A %B, PATH its %P. The result replaces
OURS. Changes to different keys merge; a key changed differently on both
sides keeps a conflict value with <<<<<<< markers, which kura edit PATH
shows, and the exit status is 1. When a version cannot be decrypted (no
key) it falls back to git's own line merge.`,
		Hidden: true,
		Args:   cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.gitMerge(args[0], args[1], args[2], args[3])
		},
	}
}

// mergeSide is one version of the file, decrypted.
type mergeSide struct {
	data []byte
	file *sopsfile.File
}

func (a *app) gitMerge(basePath, oursPath, theirsPath, name string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		cfg = &config.Config{}
	}
	f := format.FromPath(name)
	var sides [3]mergeSide
	var why error
	for i, p := range []string{basePath, oursPath, theirsPath} {
		data, err := os.ReadFile(p)
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)}
		}
		ff := format.OfEncrypted(f, data)
		file, err := sopsfile.Load(data, a.store(ff, cfg, false), ff == format.Binary)
		if err == nil {
			err = file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers()})
		}
		if err != nil && why == nil {
			why = fmt.Errorf("%s version: %w", [3]string{"base", "our", "their"}[i], err)
		}
		sides[i] = mergeSide{data: data, file: file}
	}
	if why == nil && (sides[0].file.Binary || sides[1].file.Binary || sides[2].file.Binary) {
		why = errors.New("a binary file has no keys to merge by")
	}
	var merged []tree.Document
	var conflicts []merge.Conflict
	if why == nil {
		merged, conflicts, why = merge.Documents(sides[0].file.Docs, sides[1].file.Docs, sides[2].file.Docs)
	}
	if why != nil {
		return a.lineMerge(oursPath, basePath, theirsPath, name, why)
	}
	base, ours, theirs := sides[0].file, sides[1].file, sides[2].file
	if !sameKeyGroups(ours.Meta, base.Meta) || !sameKeyGroups(theirs.Meta, base.Meta) {
		if !sameKeyGroups(ours.Meta, theirs.Meta) {
			a.warnf("%s: the recipients changed on a branch; the merge keeps ours: run kura updatekeys %s after it", name, name)
		}
	}
	for _, c := range conflicts {
		if merged, err = setConflict(merged, c); err != nil {
			return a.lineMerge(oursPath, basePath, theirsPath, name, err)
		}
	}
	changed := !tree.DocumentsEqual(merged, ours.Docs)
	ours.AdoptCiphertexts(theirs)
	ours.Docs = merged
	if changed {
		if err := ours.Reseal(time.Now()); err != nil {
			return inFile(name, err)
		}
		out, err := ours.EmitLike(a.store(f, cfg, true), a.keepLayout(sides[1].data))
		if err != nil {
			return inFile(name, err)
		}
		if err := atomicfile.Write(oursPath, out, 0o600); err != nil {
			return inFile(name, &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)})
		}
	}
	if len(conflicts) == 0 {
		return nil
	}
	for _, c := range conflicts {
		fmt.Fprintf(a.stderr, "kura: merge conflict: %s: %s\n", name, tree.FormatPath(c.Path))
	}
	a.printHint(fmt.Sprintf("resolve it with kura edit %s (the conflicting values hold <<<<<<< markers), then git add it", name))
	return &exitError{code: 1, silent: true}
}

// setConflict puts a conflict's markers at its path, as a string.
func setConflict(docs []tree.Document, c merge.Conflict) ([]tree.Document, error) {
	if len(c.Path) == 0 {
		return nil, errors.New("a whole document conflicts")
	}
	doc, err := tree.Set(docs[c.Doc], c.Path, tree.Str(merge.Markers(c)))
	if err != nil {
		return nil, err
	}
	docs[c.Doc] = doc
	return docs, nil
}

// sameKeyGroups compares the recipients of two versions.
func sameKeyGroups(a, b *metadata.Metadata) bool {
	if len(a.KeyGroups) != len(b.KeyGroups) || a.ShamirThreshold != b.ShamirThreshold {
		return false
	}
	for i := range a.KeyGroups {
		if len(a.KeyGroups[i]) != len(b.KeyGroups[i]) {
			return false
		}
		for j := range a.KeyGroups[i] {
			if a.KeyGroups[i][j].Type != b.KeyGroups[i][j].Type || a.KeyGroups[i][j].Identity() != b.KeyGroups[i][j].Identity() {
				return false
			}
		}
	}
	return true
}

// lineMerge falls back to git's own merge of the encrypted text.
func (a *app) lineMerge(ours, base, theirs, name string, why error) error {
	fmt.Fprintf(a.stderr, "kura: %s: merging the encrypted text line by line (%s)\n", name, firstLine(why))
	repo := &gitrepo.Repo{Dir: "."}
	conflicted, err := repo.MergeFile(ours, base, theirs, [3]string{"ours", "base", "theirs"})
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	if conflicted {
		return &exitError{code: 1, silent: true}
	}
	return nil
}
