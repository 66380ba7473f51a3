package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// sample is what one measured step cost: its wall time, the CPU time of
// its processes and everything they waited for, and the largest resident
// set among them.
type sample struct {
	wall, cpu time.Duration
	rssKB     int64
}

// step is what is measured on one side of a row: untimed preparation, then
// commands, one after the other, as whole processes, each of which must
// exit 0.
type step struct {
	name string
	dir  string
	env  []string
	prep func() error
	cmds [][]string
}

func (s step) run() (sample, error) {
	if s.prep != nil {
		if err := s.prep(); err != nil {
			return sample{}, fmt.Errorf("%s: prepare: %w", s.name, err)
		}
	}
	var total sample
	for _, argv := range s.cmds {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = s.dir, append(os.Environ(), s.env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &out
		start := time.Now()
		err := cmd.Run()
		total.wall += time.Since(start)
		if err != nil {
			return sample{}, fmt.Errorf("%s: %s: %v\n%s", s.name, strings.Join(argv, " "), err, out.String())
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			// The child's own and its waited-for descendants' (wait4).
			total.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			total.rssKB = max(total.rssKB, ru.Maxrss)
		}
	}
	return total, nil
}

// pair is a row's command and its reference.
type pair struct{ cmd, ref step }

// result is a row's samples.
type result struct {
	row      row
	pair     pair
	cmd, ref []sample
}

// interleave runs a row's command and reference once each, untimed (the
// file cache, the phase worktree), then rounds times each, the order
// alternating from round to round.
func interleave(r row, p pair, rounds int) (result, error) {
	res := result{row: r, pair: p}
	for _, s := range []step{p.cmd, p.ref} {
		if _, err := s.run(); err != nil {
			return res, err
		}
	}
	for i := 0; i < rounds; i++ {
		order := []*[]sample{&res.cmd, &res.ref}
		steps := []step{p.cmd, p.ref}
		if i%2 == 1 {
			slices.Reverse(order)
			slices.Reverse(steps)
		}
		for j, s := range steps {
			got, err := s.run()
			if err != nil {
				return res, err
			}
			*order[j] = append(*order[j], got)
		}
	}
	return res, nil
}

func minMedian(xs []sample, of func(sample) float64) (float64, float64) {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = of(x)
	}
	slices.Sort(v)
	return v[0], v[(len(v)-1)/2]
}

func wallMS(s sample) float64 { return float64(s.wall.Microseconds()) / 1000 }
func cpuMS(s sample) float64  { return float64(s.cpu.Microseconds()) / 1000 }
func rssMB(s sample) float64  { return float64(s.rssKB) / 1024 }

// printTable writes the results as a Markdown table, with the machine.
func printTable(w io.Writer, results []result, rounds int, took time.Duration) {
	fmt.Fprintf(w, "Measured by `bash scripts/bench` (%d rounds a row, interleaved; %s; %s in all):\n\n", rounds, machine(), took.Round(time.Second))
	fmt.Fprintln(w, "| measure, whole processes | reference | wall (min / median) | reference | ratio, wall (min / median) | ratio, CPU (min / median) | peak memory | target |")
	fmt.Fprintln(w, "|-|-|-|-|-|-|-|-|")
	for _, r := range results {
		cMin, cMed := minMedian(r.cmd, wallMS)
		rMin, rMed := minMedian(r.ref, wallMS)
		ccMin, ccMed := minMedian(r.cmd, cpuMS)
		rcMin, rcMed := minMedian(r.ref, cpuMS)
		_, mem := minMedian(r.cmd, rssMB)
		met := "met"
		ratio := max(cMin/rMin, cMed/rMed)
		if r.row.byCPU {
			ratio = max(ccMin/rcMin, ccMed/rcMed)
		}
		if ratio > r.row.target || r.row.maxMB > 0 && mem > r.row.maxMB {
			met = "**not met**"
		}
		target := fmt.Sprintf("at most %gx", r.row.target)
		if r.row.target == 0 {
			target, met = "none", "the README states it"
		}
		if r.row.byCPU {
			target += " (CPU)"
		}
		if r.row.maxMB > 0 {
			target += fmt.Sprintf(", %g MB", r.row.maxMB)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f / %.0f ms | %.0f / %.0f ms | **%.2fx / %.2fx** | %.2fx / %.2fx | %.0f MB | %s: %s |\n",
			r.pair.cmd.name, r.pair.ref.name, cMin, cMed, rMin, rMed, cMin/rMin, cMed/rMed, ccMin/rcMin, ccMed/rcMed, mem, target, met)
	}
}
