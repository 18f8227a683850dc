package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
)

// buildBinaries builds kura and kura-kms into a directory, as a user has
// them, for benchmarks of whole runs.
func buildBinaries(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	for _, cmd := range []string{"kura", "kura-kms"} {
		out, err := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, cmd), "../"+cmd).CombinedOutput()
		if err != nil {
			b.Fatalf("building %s: %v\n%s", cmd, err, out)
		}
	}
	return dir
}

// BenchmarkStartup times whole kura runs decrypting a small file: start-up
// dominates them, which is what CI pays on every call. The KMS case adds
// starting kura-kms and one round trip to a KMS (local-kms on loopback).
func BenchmarkStartup(b *testing.B) {
	dir := buildBinaries(b)
	kura := filepath.Join(dir, "kura")
	work := b.TempDir()
	plain := filepath.Join(work, "small.yaml")
	os.WriteFile(plain, []byte("user: admin\npassword: s3cr3t\nport: 5432\n"), 0o600)
	keyFile := filepath.Join(corpus.KeysDir(), "age1.txt")
	recipient, _ := os.ReadFile(filepath.Join(corpus.KeysDir(), "age1.pub"))

	encrypt := func(name string, env []string, args ...string) string {
		cmd := exec.Command(kura, append(append([]string{"encrypt"}, args...), plain)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("encrypt: %v", err)
		}
		p := filepath.Join(work, name+".enc.yaml")
		os.WriteFile(p, out, 0o600)
		return p
	}
	run := func(b *testing.B, env []string, file string) {
		for b.Loop() {
			cmd := exec.Command(kura, "decrypt", file)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("decrypt: %v\n%s", err, out)
			}
		}
	}

	ageEnv := append(os.Environ(), "SOPS_AGE_KEY_FILE="+keyFile, "HOME="+work)
	ageFile := encrypt("age", ageEnv, "--age", strings.TrimSpace(string(recipient)))
	b.Run("age", func(b *testing.B) { run(b, ageEnv, ageFile) })

	kms := awslocal.Start(b)
	kmsEnv := append(append(os.Environ(), kms.Env()...), "HOME="+work, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	kmsFile := encrypt("kms", kmsEnv, "--kms", kms.KeyARN)
	b.Run("kms", func(b *testing.B) { run(b, kmsEnv, kmsFile) })
}
