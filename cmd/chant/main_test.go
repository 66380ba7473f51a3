package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/internal/companion"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/mcpserver"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/temporalengine"
	"github.com/chant-run/chant/internal/temporalhelper"
)

// chantBin is chant for the end-to-end tests: this test binary, run as
// chant (testscript.Main copies it into a directory it puts first on
// PATH, and runs processMain when it is started by that name); "" under
// -race (see requireChant).
var chantBin string

// coverDirEnv names the directory where chant's runs in the tests, built
// with -cover, write their counters (scripts/coverage).
const coverDirEnv = "CHANT_COVERDIR"

// testDir is a directory of the tests' own, removed when they end.
var testDir string

func TestMain(m *testing.M) {
	// Phases run in process (benchmarks) have the test binary for the
	// sandbox's helper, as chant's have chant.
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperCommand {
		os.Exit(sandbox.HelperMain(os.Args[2:], os.Stderr))
	}
	testscript.Main(endToEnd{m}, map[string]func(){
		"chant": func() { os.Exit(processMain()) },
		// Beside chant, as go install puts them.
		// The bundled pipeline's fixture.make, go run ./fixture/makerepo,
		// without Go building it for each test (see copyBundledPipeline).
		makerepo: func() {
			if err := fixture.MakeHere(); err != nil {
				fmt.Fprintln(os.Stderr, "makerepo:", err)
				os.Exit(1)
			}
			os.Exit(0)
		},
		temporalhelper.Program: func() {
			os.Exit(temporalengine.HelperMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
		companion.MCP: func() { os.Exit(mcpserver.Main(os.Args[1:], os.Stderr)) },
	})
}

// endToEnd runs the tests once testscript.Main has put chant on PATH.
type endToEnd struct{ m *testing.M }

func (e endToEnd) Run() int {
	dir, err := os.MkdirTemp("", "chant-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	testDir = dir
	// Phase worktrees go to a directory of the tests', not the user's cache.
	os.Setenv(isolation.DirEnv, filepath.Join(dir, "worktrees"))
	if d := os.Getenv(coverDirEnv); d != "" {
		// Every run of chant writes what it covered there (Go's
		// integration coverage), rather than where go test would have
		// them and then drop them.
		os.Setenv("GOCOVERDIR", d)
	}
	if !raceOn {
		if chantBin, err = exec.LookPath("chant"); err != nil {
			fmt.Fprintf(os.Stderr, "testscript.Main put no chant on PATH: %v\n", err)
			return 2
		}
		// TestRealAgentsAsUser runs it as another user.
		os.Chmod(filepath.Dir(chantBin), 0o755)
		os.Chmod(filepath.Dir(filepath.Dir(chantBin)), 0o755)
	}
	code := e.m.Run()
	stopDevServer()
	return code
}

// requireChant skips an end-to-end test under -race: chant is this test
// binary, which the race detector makes take about a second a command
// (1.14 s for chant status, against 40 ms). bash .ci/run runs them in a
// pass without -race.
func requireChant(t testing.TB) {
	t.Helper()
	if chantBin == "" {
		t.Skip("end-to-end: runs chant, this test binary, which -race makes take about a second a command; run without -race (bash .ci/run does)")
	}
}

// chant runs chant (this test binary) and returns its output and exit
// status.
func chant(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	requireChant(t)
	cmd := exec.Command(chantBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("chant %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// projectRoot is the root of this repository.
func projectRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// makerepo is fixture/makerepo in the tests: this test binary.
const makerepo = "chant-test-makerepo"

// copyBundledPipeline copies the bundled .chant pipeline (config, specs,
// prompts, .gitignore; not work/ or logs/) into a new workspace directory.
// Its fixture's make command, go run ./fixture/makerepo, runs the same code
// as this test binary's makerepo (TestBundledFixtureMakeCommand runs the
// command itself).
func copyBundledPipeline(t *testing.T) string {
	t.Helper()
	src := filepath.Join(projectRoot(t), ".chant")
	ws := t.TempDir()
	for _, rel := range []string{"config.md", ".gitignore", "specs", "prompts"} {
		err := filepath.Walk(filepath.Join(src, rel), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			r, _ := filepath.Rel(src, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if r == "config.md" {
				const make = "make: go run ./fixture/makerepo\n"
				if !bytes.Contains(data, []byte(make)) {
					t.Fatalf("the bundled config has no %q", make)
				}
				data = bytes.Replace(data, []byte(make), []byte("make: "+makerepo+"\n"), 1)
			}
			dst := filepath.Join(ws, ".chant", r)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// TestScripts runs the testscript scenarios in testdata/script with chant
// (this test binary) on PATH.
func TestScripts(t *testing.T) {
	requireChant(t)
	testscript.Run(t, scriptParams(t, "testdata/script", nil))
}

// scriptParams are the testscript parameters of chant's end-to-end
// scripts in dir: chant on PATH, and the commands of scriptCmds; env is
// added to each script's environment.
func scriptParams(t *testing.T, dir string, env map[string]string) testscript.Params {
	requireChant(t)
	return testscript.Params{
		Dir: dir,
		Setup: func(e *testscript.Env) error {
			path := filepath.Dir(chantBin) + string(os.PathListSeparator) + os.Getenv("PATH")
			if clis := os.Getenv(agentCLIsEnv); clis != "" {
				path = clis + string(os.PathListSeparator) + path
			}
			e.Setenv("PATH", path)
			e.Setenv("PROJECT", projectRoot(t))
			e.Setenv("CHANT_BIN_DIR", filepath.Dir(chantBin))
			for _, k := range []string{"HOME", "GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "GOCOVERDIR", isolation.DirEnv} {
				if v, ok := os.LookupEnv(k); ok {
					e.Setenv(k, v)
				}
			}
			for k, v := range env {
				e.Setenv(k, v)
			}
			return nil
		},
		Cmds: scriptCmds,
	}
}

// scriptCmds are the commands chant's scripts have beyond testscript's.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// exits N PROG ARGS... runs a program and checks its exit status.
	"exits": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: exits N prog args...")
		}
		err := ts.Exec(args[1], args[2:]...)
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			ts.Fatalf("%v", err)
		}
		if want := args[0]; fmt.Sprint(got) != want {
			ts.Fatalf("%s exited %d, want %s", args[1], got, want)
		}
	},
	// modelserver SCRIPT starts a scripted model server (see package
	// modelserver) and points the agent CLIs at it, with a home directory
	// of their own.
	"modelserver": cmdModelServer,
	// asked API N checks that the model server answered at least N
	// requests of an API (anthropic, responses, chat, gemini, ollama).
	"asked": cmdAsked,
	// listen NAME serves on a free loopback port and sets NAME to it.
	"listen": cmdListen,
	// aligned checks the table in the last command's stdout, as a
	// terminal shows it: colour escapes stripped, each column of every
	// row starting on screen where its heading starts.
	"aligned": cmdAligned,
}

var escapes = regexp.MustCompile("\x1b\\[[0-9;]*m")

func cmdAligned(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: aligned")
	}
	text := escapes.ReplaceAllString(strings.ReplaceAll(ts.ReadFile("stdout"), "\r", ""), "")
	lines := strings.Split(text, "\n")
	head := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "ID ") {
			head = i
			break
		}
	}
	if head < 0 {
		ts.Fatalf("no table heading (a line starting with ID) in stdout")
	}
	// The screen columns where headings start.
	// The screen columns where headings start (after a gap of two
	// spaces: a heading such as WHY NOT DONE has single ones).
	var starts []int
	col, gap := 0, 0
	for _, r := range lines[head] {
		if r == ' ' {
			gap++
		} else {
			if gap >= 2 {
				starts = append(starts, col)
			}
			gap = 0
		}
		col += runewidth.RuneWidth(r)
	}
	rows := 0
	for _, l := range lines[head+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		rows++
		// What is on screen at each column.
		var screen []rune
		for _, r := range l {
			screen = append(screen, r)
			for range runewidth.RuneWidth(r) - 1 {
				screen = append(screen, 0) // the second half of a wide character
			}
		}
		for _, c := range starts {
			if c >= len(screen) {
				continue // an empty last column
			}
			if screen[c-1] != ' ' || screen[c] == ' ' || screen[c] == 0 {
				ts.Fatalf("row %q: no column starts at screen column %d, where heading %q has one", l, c, lines[head])
			}
		}
	}
	if rows == 0 {
		ts.Fatalf("the table has no rows")
	}
}
