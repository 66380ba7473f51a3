// Package verdict is what verification finds of a phase's work
// (Verification), and running the checks that decide it.
package verdict

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// DefaultCheckTimeout bounds a check that sets no timeout.
const DefaultCheckTimeout = 10 * time.Minute

// Verification is what the runner found after the agent, whatever the agent
// said, measured against the spec as the phase read it before the agent.
type Verification struct {
	Unchecked []spec.Criterion
	Total     int      // acceptance criteria
	Missing   []string // target files that do not exist
	Unchanged []string // target files the agent did not change
	// Same are target files the agent left as the spec's earlier
	// completion committed them: a run after reset that produces the same
	// result is accepted.
	Same   []string
	Checks []CheckResult

	SkippedCriteria bool     // unchecked criteria allowed by --skip-criteria
	Undeclared      []string // files changed outside target_files
	OtherSpecs      []string // other spec files changed (never allowed)
	// Tampered says how the agent changed its own spec beyond ticking the
	// boxes of its acceptance criteria (never allowed).
	Tampered string
	// GitConfig lists the git configuration the agent changed (undone).
	GitConfig []string
	// BadTargets are targets that are not a file chant can commit: a
	// directory, a special file, a symbolic link leaving the repository.
	BadTargets []string
	// ChangedByChecks are targets a check changed after verification.
	ChangedByChecks []string
}

// CheckResult is one check's outcome.
type CheckResult struct {
	Check    spec.Check
	Passed   bool // exit status 0
	Held     bool // the outcome is the expected one
	Output   string
	Duration time.Duration
	Err      string // could not run, or timed out
	// ReadOnly means it did not hold and said it met a read-only file
	// system: the sandbox's, most likely.
	ReadOnly bool `json:",omitempty"`
}

// OK reports whether the phase may be recorded as completed.
func (v *Verification) OK() bool {
	if len(v.Unchecked) > 0 && !v.SkippedCriteria || len(v.Missing) > 0 || len(v.Unchanged) > 0 ||
		len(v.Undeclared) > 0 || len(v.OtherSpecs) > 0 || v.Tampered != "" || len(v.GitConfig) > 0 ||
		len(v.BadTargets) > 0 || len(v.ChangedByChecks) > 0 {
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
	if v.Tampered != "" {
		out = append(out, "tampering: "+v.Tampered)
	}
	if !v.SkippedCriteria {
		for _, c := range v.Unchecked {
			out = append(out, fmt.Sprintf("acceptance criterion not checked (line %d): %s", c.Line, c.Text))
		}
	}
	for _, f := range v.OtherSpecs {
		out = append(out, "changed another spec, which an agent may never do: "+shownPath(f))
	}
	if len(v.GitConfig) > 0 {
		out = append(out, "changed git's configuration, which an agent may never do (undone): "+strings.Join(v.GitConfig, ", "))
	}
	if len(v.Undeclared) > 0 {
		shown := make([]string, len(v.Undeclared))
		for i, f := range v.Undeclared {
			shown[i] = shownPath(f)
		}
		out = append(out, "changed files outside target_files: "+strings.Join(shown, ", "))
	}
	for _, f := range v.Missing {
		out = append(out, "target file does not exist: "+f)
	}
	for _, f := range v.Unchanged {
		out = append(out, "target file was not changed: "+f)
	}
	out = append(out, v.BadTargets...)
	for _, f := range v.ChangedByChecks {
		out = append(out, "a check changed target file "+f+" after the agent: what was verified is not what would be committed")
	}
	for _, c := range v.Checks {
		if !c.Held {
			out = append(out, fmt.Sprintf("check `%s`: %s", c.Check.Run, c.Describe()))
		}
	}
	return out
}

// shownPath is a path an agent made, as it can be shown: quoted, with its
// control characters escaped (\x1b), when it has any, so that the user
// can find the file and no terminal acts on it.
func shownPath(p string) string {
	if textsafe.Line(p) == p {
		return p
	}
	return strconv.QuoteToGraphic(p)
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
		if !strings.HasPrefix(p, "check ") && !strings.HasPrefix(p, "acceptance criterion") {
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
	if c.ReadOnly {
		return fmt.Sprintf("%s, expected to %s; %s", outcome, c.Check.Expect, sandbox.ReadOnlyHint)
	}
	return fmt.Sprintf("%s, expected to %s", outcome, c.Check.Expect)
}

// CheckTimeout is a check's timeout, DefaultCheckTimeout unless it sets one.
func CheckTimeout(c spec.Check) time.Duration {
	if c.Timeout != "" {
		if d, err := time.ParseDuration(c.Timeout); err == nil && d > 0 {
			return d
		}
	}
	return DefaultCheckTimeout
}

// RunCheck runs one check with sh -c in dir, in its own process group and
// marked, so that a timeout, or its end, leaves nothing of it running; in
// cage when there is one (a phase's check runs the agent's code).
func RunCheck(ctx context.Context, c spec.Check, dir, id string, cage *sandbox.Cage) CheckResult {
	timeout := CheckTimeout(c)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	marker := procs.NewMarker()
	var buf bytes.Buffer
	out := procs.NewLockedWriter(&buf) // the relay of a network list writes to it too
	cmd := procs.Command(ctx, dir, append(os.Environ(), "CHANT_SPEC_ID="+id), marker, "sh", "-c", c.Run)
	start := time.Now()
	// Once it returns, the relay of a network list has stopped: nothing
	// writes to buf any more.
	err := cage.Run(ctx, cmd, sandbox.RunOptions{Marker: marker, Out: out, Log: out})
	r := CheckResult{Check: c, Duration: time.Since(start), Output: tail(buf.String(), 16<<10)}
	refused := err
	if cage != nil && !errors.Is(err, sandbox.ErrUnavailable) {
		refused = sandbox.Refused(buf.String(), err)
	}
	_, exited := sandbox.ExitCode(err)
	switch {
	case errors.Is(refused, sandbox.ErrUnavailable):
		r.Err = "could not run: " + refused.Error()
	case ctx.Err() == context.DeadlineExceeded:
		r.Err = fmt.Sprintf("timed out after %s", timeout)
	case err == nil:
		r.Passed = true
	case exited:
	default:
		r.Err = "could not run: " + err.Error()
	}
	r.Held = r.Err == "" && r.Passed == (c.Expect == spec.ExpectPass)
	r.ReadOnly = !r.Held && cage.MetReadOnly(r.Output)
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

// TicksOnly reports whether after is before with some of the given
// unchecked task boxes ticked ("[ ]" to "[x]" or "[X]") and nothing else
// changed, and which boxes (by offset of "[").
func TicksOnly(before, after []byte, criteria []spec.Criterion) (ticked map[int]bool, ok bool) {
	if len(before) != len(after) {
		return nil, false
	}
	boxes := map[int]bool{}
	for _, c := range criteria {
		if !c.Checked {
			boxes[c.Offset+1] = true
		}
	}
	ticked = map[int]bool{}
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		if !boxes[i] || before[i] != ' ' || (after[i] != 'x' && after[i] != 'X') {
			return nil, false
		}
		ticked[i-1] = true
	}
	return ticked, true
}

// SpecChanges describes how an agent changed its spec beyond ticks: the
// frontmatter keys whose values differ, and whether the body did.
func SpecChanges(before *spec.Spec, after []byte) string {
	a, err := spec.Parse(before.Path, after)
	if err != nil {
		return "it rewrote its spec into a file that does not parse"
	}
	var what []string
	pairs := []struct {
		key  string
		x, y any
	}{
		{"status", before.Status, a.Status},
		{"target_files", before.TargetFiles, a.TargetFiles},
		{"checks", before.Checks, a.Checks},
		{"depends_on", before.DependsOn, a.DependsOn},
		{"approval", before.Approval, a.Approval},
		{"commits", before.Commits, a.Commits},
		{"context", before.Context, a.Context},
		{"informed_by", before.InformedBy, a.InformedBy},
		{"prompt", before.Prompt, a.Prompt},
	}
	for _, p := range pairs {
		if fmt.Sprint(p.x) != fmt.Sprint(p.y) {
			what = append(what, p.key)
		}
	}
	if len(a.Criteria()) != len(before.Criteria()) {
		what = append(what, fmt.Sprintf("acceptance criteria (%d, was %d)", len(a.Criteria()), len(before.Criteria())))
	}
	if len(what) == 0 {
		what = append(what, "text"+firstChange(before.Bytes(), after))
	}
	return "the agent changed its spec's " + strings.Join(what, ", ") + "; an agent may only tick the boxes of its acceptance criteria"
}

// firstChange says where after first differs from before: " (line N)", or
// "" when it cannot tell.
func firstChange(before, after []byte) string {
	b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf(" (line %d)", i+1)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf(" (line %d)", min(len(a), len(b))+1)
	}
	return ""
}
