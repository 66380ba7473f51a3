package temporalengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/verdict"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// pipelineEnv is the workflow in the SDK's test environment (time is
// simulated), with phase as its activity.
func pipelineEnv(t *testing.T, phase func(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivityWithOptions(phase, activity.RegisterOptions{Name: ActivityName})
	return env
}

func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) *State {
	t.Helper()
	v, err := env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestAPhaseKeyRunsOnce(t *testing.T) {
	var runs atomic.Int32
	env := pipelineEnv(t, func(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error) {
		runs.Add(1)
		return &phase.RemoteResult{Worker: "w", Output: "did " + req.Spec}, nil
	})
	ask := func(at time.Duration, key string) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalPhase, PhaseRequest{Req: phase.RemotePhase{Key: key, Spec: "a"}})
		}, at)
	}
	ask(time.Second, "a-1")
	ask(2*time.Second, "a-1") // a run started again asks again
	ask(3*time.Second, "a-1")
	env.RegisterDelayedCallback(func() {
		st := query(t, env)
		if len(st.Phases) != 1 || st.Phases[0].Status != StatusDone || st.Phases[0].Result.Output != "did a" {
			t.Errorf("state: %+v", st.Phases)
		}
		env.SignalWorkflow(SignalGate, GateSignal{Spec: "g", Status: "awaiting"})
		env.SignalWorkflow(SignalGate, GateSignal{Spec: "g", Status: "approved", By: "Alice"})
	}, 4*time.Second)
	env.RegisterDelayedCallback(func() {
		st := query(t, env)
		if len(st.Gates) != 1 || st.Gates[0].Status != "approved" || st.Gates[0].By != "Alice" {
			t.Errorf("gates: %+v", st.Gates)
		}
		env.SignalWorkflow(SignalTakenAll, []string{"a-1", "unknown"}) // the run landed it
	}, 5*time.Second)
	env.RegisterDelayedCallback(func() {
		if st := query(t, env); len(st.Phases) != 0 {
			t.Errorf("after the run took the result: %+v", st.Phases)
		}
		env.SignalWorkflow(SignalFinish, nil)
	}, 6*time.Second)
	env.ExecuteWorkflow(WorkflowName, PipelineInput{Queue: "q"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the phase ran %d times, want once", n)
	}
}

func TestAFailedPhaseRunsAgainWhenAskedAgain(t *testing.T) {
	var runs atomic.Int32
	env := pipelineEnv(t, func(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error) {
		if runs.Add(1) == 1 {
			return nil, badRequest(errors.New("no such spec"))
		}
		return &phase.RemoteResult{Worker: "w"}, nil
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalPhase, PhaseRequest{Req: phase.RemotePhase{Key: "a-1", Spec: "a"}})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		st := query(t, env)
		if len(st.Phases) != 1 || st.Phases[0].Status != StatusFailed {
			t.Errorf("after a failure that is not retried: %+v", st.Phases[0])
		}
		env.SignalWorkflow(SignalPhase, PhaseRequest{Req: phase.RemotePhase{Key: "a-1", Spec: "a"}})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		if st := query(t, env); st.Phases[0].Status != StatusDone {
			t.Errorf("asked again: %+v", st.Phases[0])
		}
		env.SignalWorkflow(SignalFinish, nil)
	}, 2*time.Minute)
	env.ExecuteWorkflow(WorkflowName, PipelineInput{Queue: "q"})
	if env.GetWorkflowError() != nil || runs.Load() != 2 {
		t.Fatalf("error %v, %d runs", env.GetWorkflowError(), runs.Load())
	}
}

func TestFinishWaitsForRunningPhasesAndCancelStopsOne(t *testing.T) {
	env := pipelineEnv(t, func(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error) {
		for {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
				activity.RecordHeartbeat(ctx)
			}
		}
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalPhase, PhaseRequest{Req: phase.RemotePhase{Key: "a-1", Spec: "a"}})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalFinish, nil) // a phase runs: not yet
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() {
		if env.IsWorkflowCompleted() {
			t.Error("the workflow ended with a phase running")
		}
		env.SignalWorkflow(SignalCancel, "a-1")
	}, 3*time.Second)
	env.ExecuteWorkflow(WorkflowName, PipelineInput{Queue: "q", Heartbeat: time.Minute})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if st := query(t, env); len(st.Phases) != 1 || st.Phases[0].Status != StatusCancelled {
		t.Errorf("after the cancel: %+v", st.Phases)
	}
}

func TestResultTextsAreBounded(t *testing.T) {
	long := strings.Repeat("é", maxText) // two bytes each
	res := &phase.RemoteResult{Output: long, Verification: &verdict.Verification{Checks: []verdict.CheckResult{{Output: long}}}}
	trimResult(res)
	for _, s := range []string{res.Output, res.Verification.Checks[0].Output} {
		if len(s) > maxText+100 || !utf8.ValidString(s) || !strings.HasPrefix(s, "[… the start is in the worker's log]") {
			t.Errorf("trimmed to %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
		}
	}
	if short := trimText("short"); short != "short" {
		t.Errorf("a short text became %q", short)
	}
}

func TestALongPipelineContinuesAsNewWithItsResults(t *testing.T) {
	defer func(n int, f func(workflow.Context) int) { historyBudget, historyLength = n, f }(historyBudget, historyLength)
	events := 0
	historyBudget, historyLength = 5, func(workflow.Context) int { events++; return events }
	env := pipelineEnv(t, func(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error) {
		return &phase.RemoteResult{Worker: "w", Output: req.Key}, nil
	})
	for i := range 10 {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalPhase, PhaseRequest{Req: phase.RemotePhase{Key: fmt.Sprintf("s-%d", i), Spec: "s"}})
		}, time.Duration(i+1)*time.Second)
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalGate, GateSignal{Spec: "g", Status: "awaiting"})
	}, 11*time.Second)
	env.ExecuteWorkflow(WorkflowName, PipelineInput{Queue: "q"})
	var next *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &next) {
		t.Fatalf("the workflow ended with %v; want it to continue as new", err)
	}
	if next.WorkflowType.Name != WorkflowName {
		t.Errorf("continues as %q", next.WorkflowType.Name)
	}
	var in PipelineInput
	if err := converter.GetDefaultDataConverter().FromPayloads(next.Input, &in); err != nil {
		t.Fatal(err)
	}
	if in.Queue != "q" || in.State == nil || len(in.State.Phases) == 0 {
		t.Fatalf("carried over: %+v", in)
	}
	for _, p := range in.State.Phases {
		if p.Status != StatusDone || p.Result == nil || p.Result.Output != p.Key {
			t.Errorf("carried over %+v", p)
		}
	}
}
