package temporalengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/chant-run/chant/runner"
)

// Engine is a run's side of a pipeline's workflow (runner.Engine): it
// starts the workflow or joins the one running, asks it for phases and
// waits for their results.
type Engine struct {
	Client     client.Client
	Address    string // the cluster's, for messages
	WorkflowID string
	Input      PipelineInput
	Poll       time.Duration // how often the workflow is asked (default 250 ms)
}

// WorkflowID is the pipeline's workflow ID: one per repository and
// branch, so that a run started again joins the workflow it left.
func WorkflowID(repo, branch string) string {
	sum := sha256.Sum256([]byte(repo + "\x00" + branch))
	name := regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(filepath.Base(repo), "-")
	return fmt.Sprintf("chant/%s/%s/%s", name, strings.TrimPrefix(branch, "refs/heads/"), hex.EncodeToString(sum[:6]))
}

// Attach starts the pipeline's workflow, or joins it if it runs (never a
// second one); joined says which.
func (e *Engine) Attach(ctx context.Context) (joined bool, err error) {
	if e.Input.Queue == "" {
		e.Input.Queue = DefaultQueue
	}
	if d, err := e.Client.DescribeWorkflowExecution(ctx, e.WorkflowID, ""); err == nil {
		joined = d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	_, err = e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       e.WorkflowID,
		TaskQueue:                e.Input.Queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, WorkflowName, e.Input)
	if err != nil {
		return false, fmt.Errorf("%w: start the workflow %s: %w", ErrConnection, e.WorkflowID, err)
	}
	return joined, nil
}

// state asks the workflow what it knows.
func (e *Engine) state(ctx context.Context) (*State, error) {
	v, err := e.Client.QueryWorkflow(ctx, e.WorkflowID, "", QueryState)
	if err != nil {
		return nil, fmt.Errorf("%w: ask the workflow %s: %w", ErrConnection, e.WorkflowID, err)
	}
	var st State
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("%w: the workflow's state: %w", ErrConnection, err)
	}
	return &st, nil
}

func find(st *State, key string) *PhaseState {
	for _, p := range st.Phases {
		if p.Key == key {
			return p
		}
	}
	return nil
}

// Phase asks the workflow for a phase (unless it has it, running or
// done) and waits for its result; update is told which worker runs it.
// Interrupted, it cancels the phase on its worker.
func (e *Engine) Phase(ctx context.Context, req *runner.RemotePhase, update func(worker string)) (*runner.RemoteResult, error) {
	st, err := e.state(ctx)
	if err != nil {
		return nil, err
	}
	if p := find(st, req.Key); p == nil || p.Status == StatusCancelled || p.Status == StatusFailed {
		if err := e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalPhase, PhaseRequest{Req: *req}); err != nil {
			return nil, fmt.Errorf("%w: ask for %s: %w", ErrConnection, req.Spec, err)
		}
	}
	poll := e.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	asked := false
	for {
		select {
		case <-ctx.Done():
			// Stop its agent, wherever it runs (a new context: this one
			// has ended).
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			e.Client.SignalWorkflow(c, e.WorkflowID, "", SignalCancel, req.Key)
			cancel()
			return nil, ctx.Err()
		case <-t.C:
		}
		st, err := e.state(ctx)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return nil, err
		}
		p := find(st, req.Key)
		switch {
		case p == nil:
			if asked {
				return nil, fmt.Errorf("%w: the workflow %s lost the phase %s", ErrConnection, e.WorkflowID, req.Key)
			}
			asked = true // the signal may not be in yet
			continue
		case p.Status == StatusDone:
			if update != nil && p.Result != nil {
				update(p.Result.Worker)
			}
			return p.Result, nil
		case p.Status == StatusFailed:
			return nil, fmt.Errorf("no worker could run it: %s", p.Error)
		case p.Status == StatusCancelled:
			return nil, fmt.Errorf("%w: cancelled on its worker", runner.ErrInterrupted)
		}
		asked = true
		if update != nil {
			if w := e.worker(ctx, req.Key); w != "" {
				update(w)
			}
		}
	}
}

// worker names the worker that has the phase now, from the workflow's
// pending activities ("" if none has it yet).
func (e *Engine) worker(ctx context.Context, key string) string {
	d, err := e.Client.DescribeWorkflowExecution(ctx, e.WorkflowID, "")
	if err != nil {
		return ""
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityId() == key && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			return a.GetLastWorkerIdentity()
		}
	}
	return ""
}

// Done tells the workflow that the run has taken a phase's result.
func (e *Engine) Done(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalTaken, key)
}

// Gate tells the workflow about a gate (awaiting, approved, rejected).
func (e *Engine) Gate(ctx context.Context, spec, status, by string) error {
	err := e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalGate, GateSignal{Spec: spec, Status: status, By: by})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return ErrNoWorkflow
	}
	if err != nil {
		return fmt.Errorf("%w: signal the workflow %s: %w", ErrConnection, e.WorkflowID, err)
	}
	return nil
}

// Finish tells the workflow that the run is over: it ends once no phase
// runs.
func (e *Engine) Finish(ctx context.Context) error {
	err := e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalFinish, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("%w: signal the workflow %s: %w", ErrConnection, e.WorkflowID, err)
	}
	return nil
}

// ErrNoWorkflow means no pipeline workflow runs for the repository and
// branch.
var ErrNoWorkflow = errors.New("no pipeline workflow is running")

// Pollers names the workers that polled the task queue for phases lately.
func Pollers(ctx context.Context, c client.Client, queue string) ([]string, error) {
	resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	if err != nil {
		return nil, fmt.Errorf("%w: describe the task queue %s: %w", ErrConnection, queue, err)
	}
	var names []string
	for _, p := range resp.GetPollers() {
		names = append(names, p.GetIdentity())
	}
	return names, nil
}
