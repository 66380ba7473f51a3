package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/progress"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

type runOptions struct {
	*globals
	ids          []string
	quiet, json  bool
	skipCriteria bool
	record       bool
	prompt       string
	failFast     bool
	stale        bool
	parallel     int
	budget       float64
	engineFlags
}

func newRunCmd(g *globals) *cobra.Command {
	opts := &runOptions{globals: g}
	c := &cobra.Command{
		Use:   "run [ID...]",
		Short: "Run every ready spec in dependency order, stopping at human gates",
		Long: `Run every ready spec, one after another in dependency order, until none is
ready. Each spec's agent does its work; chant verifies it (acceptance
criteria checked, target files changed, checks holding) and commits it as
"chant(<id>): <title>". A spec that needs an approval waits for it.

A failure stops only what depends on the failed spec: the other ready
specs run, and the run ends with exit status 1 and what failed. A failed
spec runs again only when named, or after chant reset. Invalid specs (see
chant lint) do not run, nor what depends on them; the run exits 2.

With --parallel N (or defaults.parallel in .chant/config.md), up to N
specs run at once, each in a worktree of its own; specs whose target
files overlap never run at the same time. Results land on the branch one
at a time in the order a sequential run takes, so the history is the
same. The agents' output then goes only to their logs (chant log ID
--follow).

With --engine temporal (or engine: temporal in .chant/config.md), each
phase's agent and verification run on chant workers (chant worker)
through a Temporal cluster, and the run lands their results here, in the
same order. The run starts the pipeline's workflow, or joins it if it
runs: a run killed and started again picks up where it was, and never
runs a phase twice.

A completed spec is stale when something its phase was built on changed
since (its spec, prompt template or agent, a context or informed_by file,
a dependency's target files): chant status says what. With --stale, the
run also runs stale specs again, in dependency order, each once nothing it
depends on is stale; a stale gate needs a new approval first. A re-run
that makes the same target files leaves what depends on it as it was.

With IDs (partial IDs work when unique), run only those specs; a named
stale spec runs again.`,
		ValidArgsFunction: completeIDs(g, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ids = args
			if c.Flags().Changed("parallel") && opts.parallel < 1 {
				return usage(fmt.Errorf("--parallel %d: not a number of specs to run at once (1 to %d)", opts.parallel, spec.MaxParallel))
			}
			if c.Flags().Changed("budget") && !(opts.budget > 0) {
				return usage(fmt.Errorf("--budget %v: not an amount of dollars above 0", opts.budget))
			}
			return runRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "do not stream the agent's output (it is still logged)")
	c.Flags().BoolVar(&opts.json, "json", false, "an event a line on standard output instead: start and end of each phase (outcome, commit, reason), then a summary")
	c.Flags().BoolVar(&opts.skipCriteria, "skip-criteria", false, "complete specs whose criteria are not all checked (recorded as verification_status: partial)")
	c.Flags().BoolVar(&opts.record, "record", false, "save what the agent did as a replay recording in .chant/recordings/<id>/")
	c.Flags().StringVar(&opts.prompt, "prompt", "", "use the prompt template .chant/prompts/`NAME`.md for every spec")
	c.Flags().BoolVar(&opts.stale, "stale", false, "also run stale specs again (built on something that changed since they ran)")
	c.Flags().BoolVar(&opts.failFast, "fail-fast", false, "stop the run at the first failure (otherwise a failure stops only what depends on it)")
	c.Flags().IntVarP(&opts.parallel, "parallel", "j", 0, "run up to `N` specs at once (default: defaults.parallel, else 1)")
	c.Flags().Float64Var(&opts.budget, "budget", 0, "start no phase once the agents' CLIs report the run cost `USD` dollars")
	opts.engineFlags.add(c.Flags(), true)
	c.SetUsageFunc(clihelp.GroupedUsage)
	return c
}

func runRun(ctx context.Context, opts *runOptions) error {
	if opts.parallel < 0 || opts.parallel > spec.MaxParallel {
		return usage(fmt.Errorf("--parallel %d: not a number of specs to run at once (1 to %d)", opts.parallel, spec.MaxParallel))
	}
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	var events func(runner.Event)
	if opts.json { // the events on standard output, and nothing else
		enc := json.NewEncoder(opts.stdout)
		events, opts.stdout = func(e runner.Event) { enc.Encode(e) }, io.Discard
	}
	parallel := cmp.Or(opts.parallel, w.Config.Defaults.Parallel)

	live := progress.New(opts.stdout)
	defer live.Close()
	out := io.Writer(live)
	var stream io.Writer
	if !opts.quiet && parallel <= 1 {
		stream = out // side by side, agents' output would interleave: their logs have it
	}
	target, err := opts.prepare(ctx, w)
	if err != nil {
		return err
	}
	if target == w {
		fmt.Fprintf(out, "Repository: %s\n", w.Root)
	}
	runOpts := runner.Options{Workspace: target, IDs: opts.ids, Out: out, Stream: stream,
		Prompt: opts.prompt, SkipCriteria: opts.skipCriteria, Record: opts.record, FailFast: opts.failFast, Stale: opts.stale, Parallel: parallel,
		Activity: live.Activity, Events: events, Budget: opts.budget}
	engine, err := opts.attachEngine(ctx, w, target, &runOpts, out)
	if err != nil {
		return err
	}
	rep, err := runner.Run(ctx, runOpts)
	if events != nil && rep != nil {
		events(rep.Summary())
	}
	if engine != nil {
		opts.leaveEngine(engine, rep)
	}
	live.Close()
	return opts.report(rep, err)
}

// report says how a run went (on standard error what failed, on standard
// output where things stand), and returns the command's error.
func (opts *runOptions) report(rep *runner.Report, err error) error {
	var intr *interrupted
	if errors.As(err, &intr) {
		opts.reportInterrupted(rep, intr)
		return &reported{err}
	}
	if rep == nil || rep.Final == nil {
		return err // refused before anything ran
	}
	for _, f := range rep.Failed {
		opts.reportFailure(rep, f)
	}
	for _, r := range rep.Refused {
		fmt.Fprintf(opts.stderr, "\n%s did not run: %s\n", r.Spec.ID, strings.TrimPrefix(r.Err.Error(), r.Spec.ID+": "))
	}
	opts.summarize(rep)
	if rep.OverBudget {
		fmt.Fprintf(opts.stderr, "\nBudget spent: the agents' CLIs reported $%.4f, the run's budget (--budget) is $%.4f: no phase started since.\n", rep.Spent, opts.budget)
		if err == nil {
			return &reported{errBudgetSpent}
		}
	}
	if err != nil && (len(rep.Failed) > 0 || len(rep.Refused) > 0 && err == rep.Refused[0].Err) {
		return &reported{err} // said above
	}
	if err == nil && len(rep.Named) == 0 {
		if failed := failedBefore(rep); len(failed) > 0 {
			// Said above; for CI, the run is not a success while they are.
			return &reported{fmt.Errorf("%w before this run: %s", runner.ErrPhaseFailed, strings.Join(failed, ", "))}
		}
	}
	if errors.Is(err, phase.ErrEngineUnreachable) {
		opts.reportUnreachable(rep)
	}
	if errors.Is(err, phase.ErrEngineUnreachable) || errors.Is(err, phase.ErrStopped) {
		return &reported{err} // said above, or in its stop line
	}
	return err
}

// errBudgetSpent: the run stopped starting phases, its budget spent.
var errBudgetSpent = errors.New("the run's budget is spent")

// reportUnreachable says which phases the run gave up because the engine
// stayed out of reach, and how they go on.
func (opts *runOptions) reportUnreachable(rep *runner.Report) {
	var ids []string
	for _, ph := range rep.Stopped {
		ids = append(ids, ph.Spec.ID)
	}
	fmt.Fprintf(opts.stderr, "\nGiven up: %s: %v.\n", strings.Join(ids, ", "), rep.Stopped[0].Err)
	fmt.Fprintf(opts.stderr, "%s as before the run; what runs on a worker goes on. Once the server answers, %s run takes %s result%s.\n",
		map[bool]string{true: "Its spec is", false: "Their specs are"}[len(ids) == 1], opts.invocation(),
		map[bool]string{true: "its", false: "their"}[len(ids) == 1], map[bool]string{true: "", false: "s"}[len(ids) == 1])
}

// reportInterrupted says which phases a signal stopped, and that they run
// with the next run.
func (opts *runOptions) reportInterrupted(rep *runner.Report, intr *interrupted) {
	var ids []string
	if rep != nil {
		ids = rep.Summary().Stopped // in plan order
	}
	fmt.Fprintf(opts.stdout, "\n%s.", words.UpperFirst(intr.Error()))
	if len(ids) > 0 {
		one := len(ids) == 1
		fmt.Fprintf(opts.stdout, " Stopped: %s; %s as before the run, and %s run runs %s again.",
			strings.Join(ids, ", "), map[bool]string{true: "its spec is", false: "their specs are"}[one],
			opts.invocation(), map[bool]string{true: "it", false: "them"}[one])
	}
	fmt.Fprintln(opts.stdout)
}

// attachEngine, for the temporal engine, starts or joins the pipeline's
// workflow and sets the run's options to use it; nil for a local run.
func (opts *runOptions) attachEngine(ctx context.Context, w, target *spec.Workspace, ro *runner.Options, out io.Writer) (*temporalhelper.Engine, error) {
	if engine, _, _, _, _, err := opts.engineFlags.Resolve(w.Config); err != nil || engine != spec.EngineTemporal {
		return nil, err
	}
	if opts.record {
		return nil, usage(fmt.Errorf("--record records an agent that runs here; with --engine temporal agents run on workers"))
	}
	repo, err := gitrepo.Open(target.Root)
	if err != nil {
		return nil, err
	}
	pl, err := opts.engineFlags.Pipeline(w.Config, repo, "chant run")
	if err != nil {
		return nil, err
	}
	e, err := temporalhelper.Open(ctx, pl, out, opts.stderr)
	if err != nil {
		return nil, err
	}
	joined, err := e.Attach(ctx)
	if err != nil {
		e.Close()
		return nil, err
	}
	verb := "started"
	if joined {
		verb = "joined"
	}
	fmt.Fprintf(out, "Engine: temporal at %s, task queue %s; %s the workflow %s\n", e.Address, e.Queue, verb, e.WorkflowID)
	ro.Engine, ro.EngineRepo = e, e.Repo
	return e, nil
}

// leaveEngine tells the workflow where the run left things: the gates
// that await a decision (it keeps waiting for them, durably), or that the
// pipeline is over.
func (opts *runOptions) leaveEngine(e *temporalhelper.Engine, rep *runner.Report) {
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var awaiting []string
	if rep != nil && rep.Final != nil {
		for _, s := range rep.Final.Set.Order() {
			if rep.Final.States[s.ID].Kind == plan.KindAwaiting {
				awaiting = append(awaiting, s.ID)
			}
		}
	}
	var err error
	for _, id := range awaiting {
		if err = e.Gate(ctx, id, "awaiting", ""); err != nil {
			break
		}
	}
	if len(awaiting) == 0 {
		err = e.Finish(ctx)
	}
	if err != nil {
		fmt.Fprintf(opts.stderr, "Note: could not tell the workflow %s where the run left things: %v\n", e.WorkflowID, err)
	}
}

// reportFailure says why a phase failed, and how to go on.
func (opts *runOptions) reportFailure(rep *runner.Report, f *runner.Phase) {
	w := opts.stderr
	fmt.Fprintf(w, "\n%s failed:\n", f.Spec.ID)
	if f.Verification != nil && !f.Verification.OK() {
		for _, p := range f.Verification.Problems() {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		for _, c := range f.Verification.Checks {
			if !c.Held && c.Output != "" {
				fmt.Fprintf(w, "\nOutput of `%s`:\n%s\n", c.Check.Run, c.Output)
			}
		}
	} else {
		fmt.Fprintf(w, "  - %v\n", f.Err)
	}
	log := opts.where(filepath.Join(rep.Workspace.ChantDir, spec.LogsDir, f.Spec.ID+".log"))
	fmt.Fprintf(w, "\nThe log is in %s. Fix the cause, then run it again with: %s run %s\n", log, opts.invocation(), f.Spec.ID)
}

// summarize says where the run left things.
func (opts *runOptions) summarize(rep *runner.Report) {
	failedNow := map[string]bool{}
	for _, f := range rep.Failed {
		failedNow[f.Spec.ID] = true
	}
	defer opts.sayStale(rep)
	if len(rep.Named) > 0 {
		opts.summarizeNamed(rep, failedNow)
		return
	}
	a := rep.Final
	var open, done int
	var notDone []*plan.State
	for _, s := range a.Set.Order() {
		st := a.States[s.ID]
		switch {
		case st.Kind == plan.KindArchived:
		case st.Done():
			done++
		default:
			open++
			notDone = append(notDone, st)
		}
	}
	opts.sayFailed(rep)
	out := opts.stdout
	switch {
	case open == 0 && done == 0:
		fmt.Fprintf(out, "Nothing to run: there are no specs yet (write one with: %s add).\n", opts.invocation())
		return
	case open == 0 && len(rep.Ran) == 0:
		fmt.Fprintf(out, "Nothing to run: %s%s.\n", words.AllCompleted(done), staleCount(a))
		return
	case open == 0:
		fmt.Fprintf(out, "%s%s.\n", words.UpperFirst(words.AllCompleted(done)), staleCount(a))
		return
	case len(rep.Ran) == 0 && len(rep.Refused) == 0:
		opts.sayNothingReady(notDone, done, open)
	default:
		for _, st := range notDone {
			switch st.Kind {
			case plan.KindFailed:
				if !failedNow[st.Spec.ID] {
					fmt.Fprintf(out, "%s %s. Run it again with: %s run %s\n", st.Spec.ID, st.Why(), opts.invocation(), st.Spec.ID)
				}
			case plan.KindInvalid, plan.KindExpired:
				fmt.Fprintf(out, "%s: %s\n", st.Spec.ID, st.Why())
			}
		}
	}
	for _, st := range notDone {
		opts.gateHint(st)
	}
}

// staleCount says how many of the completed specs are stale ("": none).
func staleCount(a *plan.Assessment) string {
	if n := a.Count(plan.KindStale); n > 0 {
		return fmt.Sprintf(", %d of them stale", n)
	}
	return ""
}

// sayStale names the stale specs the run left, with why, and how to run
// them again (or keep them).
func (opts *runOptions) sayStale(rep *runner.Report) {
	var lines []string
	for _, s := range rep.Final.Set.Order() {
		if st := rep.Final.States[s.ID]; st.Kind == plan.KindStale {
			why := rep.Final.Root(st)
			if st.Gate != nil && st.Gate.Void != "" {
				why += "; " + st.Gate.Void
			}
			lines = append(lines, fmt.Sprintf("  %s: %s", s.ID, why))
		}
	}
	if len(lines) == 0 {
		return
	}
	how := fmt.Sprintf("run them again with: %s run --stale", opts.invocation())
	if opts.stale {
		how = "not run again in this run"
	}
	fmt.Fprintf(opts.stdout, "\nStale, built on something that changed since they ran (%s; or keep one as it is: %s accept ID --reason TEXT):\n%s\n",
		how, opts.invocation(), strings.Join(lines, "\n"))
}

// failedBefore are the specs that a run left failed without running them
// (they failed in an earlier run).
func failedBefore(rep *runner.Report) []string {
	var ids []string
	for _, s := range rep.Final.Set.Order() {
		if rep.Final.States[s.ID].Kind == plan.KindFailed {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// summarizeNamed says where each spec named on the command line stands.
func (opts *runOptions) summarizeNamed(rep *runner.Report, failedNow map[string]bool) {
	refused := map[string]bool{} // or stopped: said, with why
	for _, r := range rep.Refused {
		refused[r.Spec.ID] = true
	}
	for _, ph := range rep.Stopped {
		refused[ph.Spec.ID] = true
	}
	for _, id := range rep.Named {
		st := rep.Final.States[id]
		switch {
		case failedNow[id], refused[id]: // said, with why, on stderr
		case st.Kind == plan.KindStale: // sayStale says it
		case st.Done():
			fmt.Fprintf(opts.stdout, "%s is completed.\n", id)
		case opts.gateHint(st):
		case rep.OverBudget && st.Kind == plan.KindReady:
			fmt.Fprintf(opts.stdout, "%s did not run: the run's budget was spent.\n", id)
		default:
			fmt.Fprintf(opts.stdout, "%s did not run: %s.\n", id, st.Why())
		}
	}
}

// sayFailed names the specs that failed in this run, and what that
// stopped.
func (opts *runOptions) sayFailed(rep *runner.Report) {
	if len(rep.Failed) == 0 {
		return
	}
	out, ids := opts.stdout, rep.Summary().Failed
	if !opts.failFast {
		fmt.Fprintf(out, "\nFailed: %s. What depends on %s did not run; the rest did.\n", strings.Join(ids, ", "), map[bool]string{true: "it", false: "them"}[len(ids) == 1])
		return
	}
	fmt.Fprintf(out, "\nFailed: %s. The run stopped there (--fail-fast).\n", strings.Join(ids, ", "))
	if len(rep.Stopped) == 0 {
		return
	}
	stopped := rep.Summary().Stopped // in plan order
	fmt.Fprintf(out, "Stopped while running: %s; %s as before and run%s with the next run.\n", strings.Join(stopped, ", "),
		map[bool]string{true: "it is", false: "they are"}[len(stopped) == 1], map[bool]string{true: "s", false: ""}[len(stopped) == 1])
}

// sayNothingReady says why none of the specs not done could run, and how
// to run again those that failed.
func (opts *runOptions) sayNothingReady(notDone []*plan.State, done, open int) {
	out := opts.stdout
	fmt.Fprintf(out, "Nothing is ready to run (%d of %s completed):\n", done, words.Plural(done+open, "spec"))
	var failed []string
	for _, st := range notDone {
		fmt.Fprintf(out, "  %s: %s\n", st.Spec.ID, st.Why())
		if st.Kind == plan.KindFailed {
			failed = append(failed, st.Spec.ID)
		}
	}
	if len(failed) > 0 {
		// A failed spec runs again only when named.
		fmt.Fprintf(out, "Run %s again with: %s run %s\n", map[bool]string{true: "it", false: "them"}[len(failed) == 1], opts.invocation(), strings.Join(failed, " "))
	}
}

// gateHint says how to open a gate that awaits an approval, if st is one.
func (opts *runOptions) gateHint(st *plan.State) bool {
	approve := fmt.Sprintf("%s approve %s --by \"<your name>\"", opts.invocation(), st.Spec.ID)
	switch {
	case st.Kind == plan.KindAwaiting && st.Gate.Void == "":
		fmt.Fprintf(opts.stdout, "%s %s (%s). To approve it:\n  %s\n", st.Spec.ID, st.Why(), st.Spec.Title, approve)
	case st.Kind == plan.KindAwaiting:
		fmt.Fprintf(opts.stdout, "%s: %s:\n  %s\n", st.Spec.ID, st.Why(), approve)
	case st.Kind == plan.KindRejected:
		fmt.Fprintf(opts.stdout, "%s was %s; it stays closed until someone approves it:\n  %s\n", st.Spec.ID, st.Why(), approve)
	default:
		return false
	}
	return true
}
