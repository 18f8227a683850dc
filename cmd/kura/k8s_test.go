package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/kura-secrets/kura/pkg/decrypt"
	"github.com/kura-secrets/kura/pkg/k8ssecret"
)

// k8svalidate FILE checks that FILE (or "stdout") is a valid v1 Secret
// manifest, as far as a client can tell without an API server.
func cmdK8sValidate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: k8svalidate FILE")
	}
	var data []byte
	if args[0] == "stdout" {
		data = []byte(ts.ReadFile("stdout"))
	} else {
		data = []byte(ts.ReadFile(args[0]))
	}
	err := k8ssecret.Validate(data)
	if (err != nil) != neg {
		ts.Fatalf("k8svalidate %s: %v", args[0], err)
	}
}

// TestKustomizeExample keeps examples/kustomize equal to the copy that
// kustomize.txtar builds, and its encrypted file decrypting to the
// script's plaintext with the repository's test key.
func TestKustomizeExample(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "kustomize.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range ar.Files {
		files[f.Name] = f.Data
	}
	dir := filepath.Join("..", "..", "examples", "kustomize")
	for _, name := range []string{"kustomization.yaml", "secret-generator.yaml", "kura-krm.sh", "deployment.yaml"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(files["app/"+name]) {
			t.Errorf("examples/kustomize/%s differs from app/%s in kustomize.txtar", name, name)
		}
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join("..", "..", "testdata", "keys", "age1.txt"))
	plain, err := decrypt.File(filepath.Join(dir, "secrets.enc.yaml"), "")
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(files["secrets.yaml"]) {
		t.Errorf("examples/kustomize/secrets.enc.yaml decrypts to\n%s\nwant\n%s", plain, files["secrets.yaml"])
	}
}
