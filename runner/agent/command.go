package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// DefaultAgentTimeout bounds an agent run when agent.timeout is not set.
const DefaultAgentTimeout = 30 * time.Minute

// maxCapture bounds how much agent output is kept in memory; the log file
// gets all of it.
const maxCapture = 8 << 20

var (
	// ErrAgentTimeout means the agent ran past agent.timeout.
	ErrAgentTimeout = errors.New("agent timed out")
	// ErrInterrupted means the run was interrupted (Ctrl-C).
	ErrInterrupted = errors.New("interrupted")
	// ErrOverBudget means the agent's CLI reported it cost more than its
	// budget.
	ErrOverBudget = errors.New("agent over budget")
)

// Command is the agent that runs a coding CLI: a preset's command line, or
// agent.command with sh -c, in the phase worktree, with the rendered prompt
// on its standard input and in the file named by CHANT_PROMPT_FILE, and
// CHANT_SPEC_ID and CHANT_SPEC_FILE set.
type Command struct {
	Argv    []string // the command line, run as is; or
	Shell   string   // one run with sh -c
	Env     []string // added to the environment
	Timeout time.Duration
	Stream  io.Writer // the terminal, or nil with --quiet
	Model   string    // recorded in the spec when not ""
	// Author is who its work commits are by.
	Author *gitrepo.Person
	// ReplyFiles means the CLI replies with whole files (see Preset).
	ReplyFiles bool
}

// CommandFor returns the agent a workspace's config asks for when it runs
// a CLI: a preset (defaults.provider: claude, …), whose program must be on
// PATH, or the command provider.
func CommandFor(w *spec.Workspace, stream io.Writer) (*Command, error) {
	c := &Command{Stream: stream, Model: ModelName(w)}
	var err error
	if c.Timeout, err = Timeout(w.Config); err != nil {
		return nil, &spec.Error{Path: w.Config.Path, Msg: err.Error()}
	}
	if p, ok := PresetNamed(w.Config.Defaults.Provider); ok {
		if _, err := p.Find(); err != nil {
			return nil, err
		}
		c.Argv = p.Argv(w.Config.Agent.Model)
		if p.env != nil {
			c.Env = p.env(w.Config.Agent.Model, os.Getenv)
		}
		c.Author, c.ReplyFiles = p.Author(), p.replyFiles
		return c, nil
	}
	c.Shell = w.Config.Agent.Command
	if strings.TrimSpace(c.Shell) == "" {
		return nil, &spec.Error{Path: w.Config.Path, Msg: "defaults.provider is command but agent.command is empty"}
	}
	name := w.Config.Agent.Name
	if name == "" {
		name = "agent"
	}
	c.Author = &gitrepo.Person{Name: name + " (chant)", Email: "command@agents.chant.invalid"}
	return c, nil
}

// Timeout is agent.timeout, default DefaultAgentTimeout.
func Timeout(c *spec.Config) (time.Duration, error) {
	if c.Agent.Timeout == "" {
		return DefaultAgentTimeout, nil
	}
	d, err := time.ParseDuration(c.Agent.Timeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("agent.timeout %q is not a duration such as 30m", c.Agent.Timeout)
	}
	return d, nil
}

// ModelName is the model to record: agent.model (what a preset is told to
// use), else CHANT_MODEL, else ANTHROPIC_MODEL, else defaults.model.
func ModelName(w *spec.Workspace) string {
	for _, v := range []string{w.Config.Agent.Model, os.Getenv("CHANT_MODEL"), os.Getenv("ANTHROPIC_MODEL"), w.Config.Defaults.Model} {
		if v != "" {
			return v
		}
	}
	return ""
}

// Line is the agent's command line, for messages.
func (c *Command) Line() string {
	if c.Shell != "" {
		return c.Shell
	}
	quoted := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		quoted[i] = textsafe.ShellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// Run runs the command in its own process group, marked; a timeout or an
// interrupt ends the whole group (and the runner ends whatever is left of
// it afterwards, whatever happened).
func (c *Command) Run(ctx context.Context, job *Job) (*Result, error) {
	prompt, err := job.Prompt()
	if err != nil {
		return nil, err
	}
	promptFile, err := writePromptFile(job.Scratch, prompt)
	if err != nil {
		return nil, err
	}
	defer os.Remove(promptFile)
	if c.ReplyFiles {
		prompt += replyInstructions(job)
	}
	fmt.Fprintf(job.Log, "%s (%s)\n%s\n%s%s\n", logPrompt, job.PromptName, prompt, logAgent, c.Line())

	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	runCtx, overBudget := context.WithCancelCause(runCtx)
	defer overBudget(nil)
	cmd, err := c.command(runCtx, job, promptFile)
	if err != nil {
		return nil, err
	}
	cmd.Stdin = strings.NewReader(prompt)
	capture := &capped{max: maxCapture}
	// The log gets the CLI's stream as it is (chant log renders it, --raw
	// gives it); the terminal, its steps.
	steps := &agentstream.Renderer{Out: io.Discard}
	if c.Stream != nil {
		// A filter of its own: an escape sequence the agent leaves open
		// must not swallow what chant prints next.
		steps.Out = textsafe.NewWriter(c.Stream)
	}
	// The budget is watched as the CLI reports its cost: past it, the
	// agent is stopped as at its timeout.
	budget := budgetWatch{steps: steps, limit: job.Budget, stop: func() { overBudget(ErrOverBudget) }}
	err = job.Cage.Run(runCtx, cmd, sandbox.RunOptions{Marker: job.Marker, Out: io.MultiWriter(job.Log, capture, &budget), Log: job.Log, Started: job.Started})
	steps.Flush()
	if t := capture.tail; len(t) > 0 && t[len(t)-1] != '\n' {
		fmt.Fprintln(job.Log)
	}
	fmt.Fprintf(job.Log, "%s (%s)\n", logAgentEnd, exitStatus(err))
	raw := capture.String()
	res := &Result{Output: raw, Model: c.Model, Author: c.Author}
	words := lastLine(string(capture.tail))
	res.Usage = steps.Session.Usage
	switch s := &steps.Session; {
	case s.Stream:
		// A CLI's events: what it said last is its answer, what it
		// reported as an error is why it failed.
		res.Output, words = s.Final(), s.LastWords()
	case s.Events > 0:
		res.Output = agentstream.WithoutUsage(res.Output)
	}
	if err == nil && ctx.Err() == nil && c.ReplyFiles {
		err = writeReplyFiles(job, res.Output)
	}
	if job.Cage != nil {
		if refused := sandbox.Refused(raw, err); refused != nil {
			return res, refused
		}
	}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%w: the agent was stopped", ErrInterrupted)
	case budget.over():
		return res, fmt.Errorf("%w: its CLI reported $%.4f, past the budget of $%.4f (%s)", ErrOverBudget, res.Usage.CostUSD, job.Budget, job.BudgetFrom)
	case runCtx.Err() == context.DeadlineExceeded:
		return res, fmt.Errorf("%w after %s (agent.timeout); its process group was killed", ErrAgentTimeout, c.Timeout)
	case err != nil && job.Cage.MetReadOnly(raw):
		return res, fmt.Errorf("agent command failed: %w%s (%s)", err, lastWords(words), sandbox.ReadOnlyHint)
	case err != nil:
		return res, fmt.Errorf("agent command failed: %w%s", err, lastWords(words))
	}
	return res, nil
}

// command is the agent's process, to run in its cage, with the environment
// it is promised.
func (c *Command) command(ctx context.Context, job *Job, promptFile string) (*exec.Cmd, error) {
	env := append(append(os.Environ(), c.Env...),
		"CHANT_SPEC_ID="+job.Spec.ID,
		"CHANT_SPEC_FILE="+job.SpecFile,
		"CHANT_PROMPT_FILE="+promptFile,
	)
	argv := c.Argv
	if c.Shell != "" {
		argv = []string{"sh", "-c", c.Shell}
	}
	return procs.Command(ctx, job.Dir, env, job.Marker, argv[0], argv[1:]...), nil
}

// budgetWatch passes the agent's output to its steps and stops the agent
// once the cost they report is past the limit (0: none).
type budgetWatch struct {
	steps   *agentstream.Renderer
	limit   float64
	stop    func()
	stopped bool
}

func (b *budgetWatch) Write(p []byte) (int, error) {
	n, err := b.steps.Write(p)
	if !b.stopped && b.over() {
		b.stopped = true
		b.stop()
	}
	return n, err
}

// over reports whether the cost reported so far is past the limit.
func (b *budgetWatch) over() bool {
	u := b.steps.Session.Usage
	return b.limit > 0 && u.Priced && u.CostUSD > b.limit
}

// writePromptFile writes the prompt into a file of its own in scratch (""
// for the system's temporary directory), for CHANT_PROMPT_FILE.
func writePromptFile(scratch, prompt string) (string, error) {
	if scratch != "" {
		if err := os.MkdirAll(scratch, 0o777); err != nil {
			return "", err
		}
	}
	pf, err := os.CreateTemp(scratch, "prompt-*.md")
	if err != nil {
		return "", err
	}
	_, err = pf.WriteString(prompt)
	if cerr := pf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(pf.Name())
		return "", err
	}
	return pf.Name(), nil
}

// A phase's log holds, for a command agent, a line logPrompt and the
// prompt, a line logAgent and the agent's command line, everything the
// agent printed (its CLI's stream), and a line logAgentEnd.
const (
	logPrompt   = "--- prompt"
	logAgent    = "--- agent: "
	logAgentEnd = "--- agent ended"
)

// LogRenderer shows a phase's log for a person: the agent's stream as
// steps (see agentstream), chant's own lines and the prompt as they are.
func LogRenderer(out io.Writer) *agentstream.Renderer {
	inAgent := false
	return &agentstream.Renderer{Out: out, Plain: func(line []byte) bool {
		switch {
		case bytes.HasPrefix(line, []byte(logAgent)):
			inAgent = true
			return true
		case bytes.HasPrefix(line, []byte(logAgentEnd)), bytes.HasPrefix(line, []byte(logPrompt)):
			inAgent = false
		}
		return !inAgent
	}}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return textsafe.Line(err.Error())
}

// lastWords is ": " and an agent's last words before it failed (its
// error, as a rule: "API Error: Unable to connect to API"), cut to a
// readable length; "" if it said nothing.
func lastWords(last string) string {
	last = textsafe.Line(last)
	if last == "" {
		return ""
	}
	if r := []rune(last); len(r) > 200 {
		last = string(r[:200]) + "…"
	}
	return ": " + last
}

// lastLine is the last line an agent printed, on one line, without
// control sequences: its error, or its answer (CLIs print their warnings
// first).
func lastLine(output string) string {
	lines := strings.Split(strings.TrimSpace(textsafe.Clean(output)), "\n")
	return strings.Join(strings.Fields(lines[len(lines)-1]), " ")
}

// capped keeps the first max bytes written to it and counts the rest.
type capped struct {
	buf     bytes.Buffer
	max     int
	dropped int
	tail    []byte // the last tailSize bytes written, kept or not
}

// tailSize bounds what capped keeps of the end of the output: enough for
// an agent's last words.
const tailSize = 1 << 10

func (c *capped) Write(p []byte) (int, error) {
	c.tail = append(c.tail, p[max(len(p)-tailSize, 0):]...)
	c.tail = c.tail[max(len(c.tail)-tailSize, 0):]
	room := c.max - c.buf.Len()
	if room >= len(p) {
		return c.buf.Write(p)
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	c.dropped += len(p) - max(room, 0)
	return len(p), nil
}

func (c *capped) String() string {
	if c.dropped == 0 {
		return c.buf.String()
	}
	return fmt.Sprintf("%s\n[%d more bytes in the log]", c.buf.String(), c.dropped)
}
