package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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
	if job.Scratch != "" {
		if err := os.MkdirAll(job.Scratch, 0o777); err != nil {
			return nil, err
		}
	}
	pf, err := os.CreateTemp(job.Scratch, "prompt-*.md")
	if err != nil {
		return nil, err
	}
	defer os.Remove(pf.Name())
	if _, err := pf.WriteString(prompt); err != nil {
		pf.Close()
		return nil, err
	}
	pf.Close()
	if c.ReplyFiles {
		prompt += replyInstructions(job)
	}
	fmt.Fprintf(job.Log, "--- prompt (%s)\n%s\n--- agent: %s\n", job.PromptName, prompt, c.Line())

	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	env := append(append(os.Environ(), c.Env...),
		"CHANT_SPEC_ID="+job.Spec.ID,
		"CHANT_SPEC_FILE="+job.SpecFile,
		"CHANT_PROMPT_FILE="+pf.Name(),
	)
	argv := c.Argv
	if c.Shell != "" {
		argv = []string{"sh", "-c", c.Shell}
	}
	argv, release, err := job.Cage.Command(job.Dir, argv, job.Log)
	if err != nil {
		return nil, err
	}
	defer release()
	cmd := procs.Command(runCtx, job.Dir, env, job.Marker, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(prompt)
	capture := &capped{max: maxCapture}
	sinks := []io.Writer{job.Log, capture}
	if c.Stream != nil {
		// A filter of its own: an escape sequence the agent leaves open
		// must not swallow what chant prints next.
		sinks = append(sinks, textsafe.NewWriter(c.Stream))
	}
	err = job.Cage.Within(func() error {
		return procs.Run(cmd, job.Cage.SurvivorMark(job.Marker), io.MultiWriter(sinks...), job.Started)
	})
	res := &Result{Output: capture.String(), Model: c.Model, Author: c.Author}
	if err == nil && ctx.Err() == nil && c.ReplyFiles {
		err = writeReplyFiles(job, res.Output)
	}
	if job.Cage != nil {
		if refused := sandbox.Refused(res.Output, err); refused != nil {
			return res, refused
		}
	}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%w: the agent was stopped", ErrInterrupted)
	case runCtx.Err() == context.DeadlineExceeded:
		return res, fmt.Errorf("%w after %s (agent.timeout); its process group was killed", ErrAgentTimeout, c.Timeout)
	case err != nil && job.Cage.MetReadOnly(res.Output):
		return res, fmt.Errorf("agent command failed: %w%s (%s)", err, lastWords(string(capture.tail)), sandbox.ReadOnlyHint)
	case err != nil:
		return res, fmt.Errorf("agent command failed: %w%s", err, lastWords(string(capture.tail)))
	}
	return res, nil
}

// lastWords is ": " and the last line an agent printed before it failed
// (its error, as a rule: "API Error: Unable to connect to API"), on one
// line and cut to a readable length; "" if it printed nothing.
func lastWords(output string) string {
	last := lastLine(output)
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
