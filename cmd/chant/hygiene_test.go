package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoBuildOutputsTracked: no tracked file is one .gitignore ignores
// (test binaries, profiles), and none is a compiled program (a chant
// binary was once committed by mistake).
func TestNoBuildOutputsTracked(t *testing.T) {
	root := projectRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-ci", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tracked files that .gitignore ignores (build outputs?):\n%s", s)
	}
	out, err = exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		if bytes.HasPrefix(head[:n], []byte("\x7fELF")) || bytes.HasPrefix(head[:n], []byte("\xcf\xfa\xed\xfe")) || bytes.HasPrefix(head[:n], []byte("MZ")) {
			t.Errorf("%s is a compiled program: build outputs are never committed", name)
		}
	}
}

// TestChantLinksOnlyTheTemporalSDK: the Temporal server (the dev server's
// module) is neither in chant's binary nor among the main module's
// dependencies; the SDK is.
func TestChantLinksOnlyTheTemporalSDK(t *testing.T) {
	root := projectRoot(t)
	cmd := exec.Command("go", "list", "-deps", "./cmd/chant")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := string(out)
	if !strings.Contains(deps, "go.temporal.io/sdk/client\n") {
		t.Error("chant does not link the Temporal SDK")
	}
	if strings.Contains(deps, "go.temporal.io/server") {
		t.Error("chant links go.temporal.io/server")
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mod, []byte("go.temporal.io/server")) {
		t.Error("the main module requires go.temporal.io/server")
	}
}
