package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/chant-run/chant/spec"
)

// DefaultCheckTimeout bounds a check that sets no timeout.
const DefaultCheckTimeout = 10 * time.Minute

// Verification is what the runner found after the agent, whatever the agent
// said.
type Verification struct {
	Unchecked []spec.Criterion
	Total     int      // acceptance criteria
	Missing   []string // target files that do not exist
	Unchanged []string // target files the agent did not change
	Checks    []CheckResult

	SkippedCriteria bool     // unchecked criteria allowed by --skip-criteria
	Undeclared      []string // files changed outside target_files
	OtherSpecs      []string // other spec files changed (never allowed)
}

// CheckResult is one check's outcome.
type CheckResult struct {
	Check    spec.Check
	Passed   bool // exit status 0
	Held     bool // the outcome is the expected one
	Output   string
	Duration time.Duration
	Err      string // could not run, or timed out
}

// OK reports whether the phase may be recorded as completed.
func (v *Verification) OK() bool {
	if len(v.Unchecked) > 0 && !v.SkippedCriteria || len(v.Missing) > 0 || len(v.Unchanged) > 0 ||
		len(v.Undeclared) > 0 || len(v.OtherSpecs) > 0 {
		return false
	}
	for _, c := range v.Checks {
		if !c.Held {
			return false
		}
	}
	return true
}

// Problems lists why the phase is not complete, one line each.
func (v *Verification) Problems() []string {
	var out []string
	if !v.SkippedCriteria {
		for _, c := range v.Unchecked {
			out = append(out, fmt.Sprintf("acceptance criterion not checked (line %d): %s", c.Line, c.Text))
		}
	}
	for _, f := range v.OtherSpecs {
		out = append(out, "changed another spec, which an agent may never do: "+f)
	}
	if len(v.Undeclared) > 0 {
		out = append(out, "changed files outside target_files: "+strings.Join(v.Undeclared, ", "))
	}
	for _, f := range v.Missing {
		out = append(out, "target file does not exist: "+f)
	}
	for _, f := range v.Unchanged {
		out = append(out, "target file was not changed: "+f)
	}
	for _, c := range v.Checks {
		if !c.Held {
			out = append(out, fmt.Sprintf("check `%s`: %s", c.Check.Run, c.Describe()))
		}
	}
	return out
}

// Status is the verification_status to record: passed, partial (criteria
// skipped with --skip-criteria) or failed.
func (v *Verification) Status() string {
	switch {
	case !v.OK():
		return "failed"
	case v.SkippedCriteria:
		return "partial"
	}
	return "passed"
}

// Summary is the verification in a few lines, for the Agent Output.
func (v *Verification) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Verification by chant:\n- criteria: %d of %d checked\n", v.Total-len(v.Unchecked), v.Total)
	if v.SkippedCriteria {
		fmt.Fprintf(&b, "- criteria check skipped (--skip-criteria): %d unchecked\n", len(v.Unchecked))
	}
	for _, c := range v.Checks {
		fmt.Fprintf(&b, "- check `%s`: %s\n", c.Check.Run, c.Describe())
	}
	for _, p := range v.Problems() {
		if !strings.HasPrefix(p, "check ") {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Describe says how the check ended against its expectation, e.g.
// "failed, expected to pass" or "passed as expected (1.2s)".
func (c CheckResult) Describe() string {
	outcome := "failed"
	if c.Passed {
		outcome = "passed"
	}
	if c.Err != "" {
		outcome = c.Err
	}
	if c.Held {
		return fmt.Sprintf("%s as expected (%s)", outcome, c.Duration.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s, expected to %s", outcome, c.Check.Expect)
}

// verify checks the spec as it is on disk now against its contract, given
// the repository paths the agent changed.
func verify(ctx context.Context, s *spec.Spec, changed map[string]bool, root string, log io.Writer) *Verification {
	v := &Verification{Unchecked: s.Unchecked(), Total: len(s.Criteria())}
	for _, f := range s.TargetFiles {
		_, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f)))
		switch {
		case err != nil:
			v.Missing = append(v.Missing, f)
		case !changed[filepath.ToSlash(filepath.Clean(f))]:
			v.Unchanged = append(v.Unchanged, f)
		}
	}
	for _, c := range s.Checks {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(log, "check: %s (expect %s)\n", c.Run, c.Expect)
		r := runCheck(ctx, c, root, s.ID)
		fmt.Fprintf(log, "%s", r.Output)
		v.Checks = append(v.Checks, r)
	}
	return v
}

// runCheck runs one check with sh -c in dir, in its own process group so a
// timeout ends everything it started.
func runCheck(ctx context.Context, c spec.Check, dir, id string) CheckResult {
	timeout := DefaultCheckTimeout
	if c.Timeout != "" {
		if d, err := time.ParseDuration(c.Timeout); err == nil && d > 0 {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Run)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHANT_SPEC_ID="+id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := CheckResult{Check: c, Duration: time.Since(start), Output: tail(out.String(), 16<<10)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		r.Err = fmt.Sprintf("timed out after %s", timeout)
	case err == nil:
		r.Passed = true
	case errors.As(err, &exit):
	default:
		r.Err = "could not run: " + err.Error()
	}
	r.Held = r.Err == "" && r.Passed == (c.Expect == spec.ExpectPass)
	return r
}

// tail keeps the last n bytes of s, cut at a line start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[… earlier output cut]\n" + s
}
