// Command speed measures chant as a user meets it: whole chant processes,
// each against a reference a user knows (git, the same command on a
// smaller input), interleaved round by round with the order alternating,
// and prints a table of min / median ratios with the machine and its load
// (the README's Speed section is its output). Run it with scripts/bench.
//
//	go run ./internal/speed [-rounds N] [-rows a,b] [-small N] [-large N] [-files N]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds of each row (each round runs the command and its reference once)")
	only := flag.String("rows", "", "the rows to measure, by name (default: all): "+strings.Join(rowNames(), ","))
	flag.IntVar(&sizes.many, "many", 10_000, "specs in the workspace of run-many-specs and the smaller of status-first")
	flag.IntVar(&sizes.most, "most", 100_000, "specs in the larger workspace of status-first")
	flag.IntVar(&sizes.files, "files", 50_000, "tracked files of run-many-files and checkout-first")
	keep := flag.String("work", "", "keep the built chant and the workspaces in `DIR` (made if need be, reused), to look at or profile them")
	flag.Parse()
	if err := measureAll(*rounds, *only, *keep, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "speed:", err)
		os.Exit(1)
	}
}

// sizes are the workspaces' sizes, from the flags.
var sizes struct{ many, most, files int }

// measureAll measures the rows named in only (all if ""), in workspaces
// under keep (a temporary directory, removed, if ""), and writes the
// table to out, what it is doing to progress.
func measureAll(rounds int, only, keep string, out, progress io.Writer) error {
	root, err := projectRoot()
	if err != nil {
		return err
	}
	work := keep
	if keep == "" {
		if work, err = os.MkdirTemp("", "chant-speed-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	} else if err := os.MkdirAll(keep, 0o755); err != nil {
		return err
	}
	b := &bench{root: root, work: work, out: progress}
	start := time.Now()
	fmt.Fprintln(progress, "building chant...")
	if err := b.build(); err != nil {
		return err
	}
	var results []result
	for _, r := range rows {
		if only != "" && !slices.Contains(strings.Split(only, ","), r.name) {
			continue
		}
		fmt.Fprintf(progress, "%s: setting up...\n", r.name)
		pair, err := r.setup(b)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Fprintf(progress, "%s: %d rounds...\n", r.name, rounds)
		res, err := interleave(r, pair, rounds)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		results = append(results, res)
	}
	printTable(out, results, rounds, time.Since(start))
	return nil
}

// projectRoot is the module's root: where go.mod is, from the working
// directory up.
func projectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run it from chant's repository")
		}
		dir = parent
	}
}

// bench is where the measuring happens: chant built from the project, and
// a work directory for the workspaces.
type bench struct {
	root, work string
	chant      string
	out        io.Writer // where go build says what went wrong
}

func (b *bench) build() error {
	b.chant = filepath.Join(b.work, "bin", "chant")
	cmd := exec.Command("go", "build", "-o", b.chant, "./cmd/chant")
	cmd.Dir, cmd.Stderr = b.root, b.out
	return cmd.Run()
}

// machine says where the figures were measured.
func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	kernel, _ := exec.Command("uname", "-r").Output()
	f := strings.Fields(string(load))
	if len(f) > 3 {
		f = f[:3]
	}
	return fmt.Sprintf("%d cores, Linux %s, %s, load %s", runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), strings.Join(f, " "))
}
