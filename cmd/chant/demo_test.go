package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The README's first command, scripts/demo, says what it does before Go
// builds chant (the first build is minutes of silence otherwise), then
// runs chant run with go run (here with --help: the pipeline itself is
// TestBundledPipelineEndToEnd's).
func TestDemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chant")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil || !strings.Contains(string(readme), "\n    bash scripts/demo\n") {
		t.Fatalf("the README's first command is not bash scripts/demo (%v)", err)
	}
	cmd := exec.Command("bash", "scripts/demo", "--help")
	cmd.Dir = "../.."
	if raceOn {
		cmd.Env = append(os.Environ(), "GOFLAGS=-race")
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "Building chant with go") || !strings.HasPrefix(lines[len(lines)-1], "Built in ") ||
		!strings.Contains(lines[len(lines)-1], "Running the bundled pipeline: go run ./cmd/chant run --help") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "Usage:\n  chant run [ID...] [flags]") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}
