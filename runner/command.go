package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/procs"
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

// Command is the agent that runs any coding CLI: agent.command with sh -c in
// the phase worktree, the rendered prompt on its standard input and in the
// file named by CHANT_PROMPT_FILE, CHANT_SPEC_ID and CHANT_SPEC_FILE set.
type Command struct {
	Shell   string
	Timeout time.Duration
	Stream  io.Writer // the terminal, or nil with --quiet
	Model   string    // recorded in the spec when not ""
}

// CommandFor returns the command agent a workspace's config asks for.
func CommandFor(w *spec.Workspace, stream io.Writer) (*Command, error) {
	c := &Command{Shell: w.Config.Agent.Command, Timeout: DefaultAgentTimeout, Stream: stream}
	if strings.TrimSpace(c.Shell) == "" {
		return nil, &spec.Error{Path: w.Config.Path, Msg: "defaults.provider is command but agent.command is empty"}
	}
	if t := w.Config.Agent.Timeout; t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, &spec.Error{Path: w.Config.Path, Msg: fmt.Sprintf("agent.timeout %q is not a duration such as 30m", t)}
		}
		c.Timeout = d
	}
	c.Model = ModelName(w)
	return c, nil
}

// ModelName is the model to record: CHANT_MODEL, else ANTHROPIC_MODEL, else
// the config's defaults.model, as given.
func ModelName(w *spec.Workspace) string {
	for _, v := range []string{os.Getenv("CHANT_MODEL"), os.Getenv("ANTHROPIC_MODEL"), w.Config.Defaults.Model} {
		if v != "" {
			return v
		}
	}
	return ""
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
	fmt.Fprintf(job.Log, "--- prompt (%s)\n%s\n--- agent: %s\n", job.PromptName, prompt, c.Shell)

	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	env := append(os.Environ(),
		"CHANT_SPEC_ID="+job.Spec.ID,
		"CHANT_SPEC_FILE="+job.SpecFile,
		"CHANT_PROMPT_FILE="+pf.Name(),
	)
	cmd := procs.Command(runCtx, env, job.Marker, "sh", "-c", c.Shell)
	cmd.Dir = job.Dir
	cmd.Stdin = strings.NewReader(prompt)
	capture := &capped{max: maxCapture}
	sinks := []io.Writer{job.Log, capture}
	if c.Stream != nil {
		sinks = append(sinks, c.Stream)
	}
	err = procs.Run(cmd, job.Marker, io.MultiWriter(sinks...), job.Started)
	res := &Result{Output: capture.String(), Model: c.Model}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%w: the agent was stopped", ErrInterrupted)
	case runCtx.Err() == context.DeadlineExceeded:
		return res, fmt.Errorf("%w after %s (agent.timeout); its process group was killed", ErrAgentTimeout, c.Timeout)
	case err != nil:
		return res, fmt.Errorf("agent command failed: %w", err)
	}
	return res, nil
}

// capped keeps the first max bytes written to it and counts the rest.
type capped struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
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
