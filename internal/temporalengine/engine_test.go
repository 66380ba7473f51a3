package temporalengine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/runner/phase"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// fakeCluster is the part of a client the run's side of the engine uses:
// the workflow's state, answered after down failures of the kind given.
type fakeCluster struct {
	client.Client
	mu      sync.Mutex
	down    int   // calls that fail before the cluster answers; <0: all
	fail    error // how they fail
	calls   int
	state   State
	signals int
	queries int
	gone    bool // the workflow does not exist until started
	started int
}

func (f *fakeCluster) failing() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down < 0 || f.calls <= f.down {
		return f.fail
	}
	return nil
}

func (f *fakeCluster) QueryWorkflow(ctx context.Context, id, run, query string, args ...interface{}) (converter.EncodedValue, error) {
	if err := f.failing(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.queries++
	f.mu.Unlock()
	return stateValue{f.state}, nil
}

func (f *fakeCluster) DescribeWorkflowExecution(ctx context.Context, id, run string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("workflow not found")
}

func (f *fakeCluster) ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, wf interface{}, args ...interface{}) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = false
	f.started++
	return nil, nil
}

func (f *fakeCluster) SignalWorkflow(ctx context.Context, id, run, name string, arg interface{}) error {
	if err := f.failing(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	f.signals++
	return nil
}

func (f *fakeCluster) Close() {}

type stateValue struct{ st State }

func (v stateValue) HasValue() bool { return true }
func (v stateValue) Get(p interface{}) error {
	*p.(*State) = v.st
	return nil
}

func fakeEngine(f *fakeCluster, log *bytes.Buffer) *Engine {
	e := &Engine{Client: f, Address: "temporal.example:7233", WorkflowID: "wf", Poll: time.Millisecond}
	if log != nil {
		e.Log = log
	}
	return e
}

// The cluster out of reach for a while (a restart, a network cut): the
// phase waits, the outage is said once and its end once, and the result
// comes. (Before, the first failed call failed the phase.)
func TestPhaseWaitsThroughAnOutage(t *testing.T) {
	f := &fakeCluster{down: 3, fail: serviceerror.NewUnavailable("connection refused"),
		state: State{Phases: []*PhaseState{{Key: "k", Spec: "s", Status: StatusDone, Result: &phase.RemoteResult{Worker: "w1"}}}}}
	var log bytes.Buffer
	res, err := fakeEngine(f, &log).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: time.Minute}, nil)
	if err != nil || res == nil || res.Worker != "w1" {
		t.Fatalf("Phase = %+v, %v", res, err)
	}
	if n := strings.Count(log.String(), "is unreachable, waiting"); n != 1 {
		t.Errorf("the outage said %d times:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "The Temporal server at temporal.example:7233 answers again") {
		t.Errorf("the end of the outage not said:\n%s", log.String())
	}
}

// Out of reach for longer than the phase may take: the phase is given up,
// stopped and not failed.
func TestPhaseGivenUpAfterItsPatience(t *testing.T) {
	f := &fakeCluster{down: -1, fail: serviceerror.NewUnavailable("connection refused")}
	start := time.Now()
	_, err := fakeEngine(f, nil).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: 600 * time.Millisecond}, nil)
	if !errors.Is(err, phase.ErrEngineUnreachable) || !errors.Is(err, phase.ErrStopped) {
		t.Fatalf("Phase: %v; want ErrEngineUnreachable", err)
	}
	if took := time.Since(start); took < 600*time.Millisecond || took > 30*time.Second {
		t.Errorf("given up after %s, with a patience of 600ms", took)
	}
	if !strings.Contains(err.Error(), "temporal.example:7233 did not answer for 600ms") {
		t.Errorf("the error does not say what happened: %v", err)
	}
}

// A refusal is not an outage: it is not waited for.
func TestPhaseRefusedIsNotWaitedFor(t *testing.T) {
	f := &fakeCluster{down: -1, fail: serviceerror.NewPermissionDenied("no", "")}
	var log bytes.Buffer
	_, err := fakeEngine(f, &log).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: time.Hour}, nil)
	if err == nil || errors.Is(err, phase.ErrEngineUnreachable) || !errors.Is(err, ErrConnection) || f.calls != 1 {
		t.Fatalf("Phase: %v after %d calls; want the refusal at once", err, f.calls)
	}
	if log.Len() != 0 {
		t.Errorf("a refusal said as an outage:\n%s", log.String())
	}
}

// ask asks e for the phase of key.
func ask(t *testing.T, e *Engine, key string) {
	t.Helper()
	w := &phaseWatch{e: e, ctx: context.Background(), req: &phase.RemotePhase{Key: key, Spec: "s"}, patience: time.Minute}
	if err := w.ask(); err != nil {
		t.Fatal(err)
	}
}

// Asking for a phase is one signal: the workflow itself runs a phase only
// if it neither runs it nor holds its result, so the run does not ask the
// workflow's state first (a query, a task for a worker, once a phase).
func TestAskIsOneSignal(t *testing.T) {
	f := &fakeCluster{}
	ask(t, fakeEngine(f, nil), "k")
	if f.signals != 1 || f.queries != 0 {
		t.Errorf("asking for a phase: %d signals, %d queries; want 1 and 0", f.signals, f.queries)
	}
}

// A failure the history showed is over once the phase is asked for again
// (it runs again); a result stands (the workflow keeps it and does not run
// the phase again).
func TestAskForgetsAFailureKeepsAResult(t *testing.T) {
	f := &fakeCluster{}
	e := fakeEngine(f, nil)
	e.setEnd("failed", &PhaseState{Key: "failed", Status: StatusFailed})
	e.setEnd("done", &PhaseState{Key: "done", Status: StatusDone, Result: &phase.RemoteResult{Worker: "w1"}})
	ask(t, e, "failed")
	ask(t, e, "done")
	if p := e.endOf("failed"); p != nil {
		t.Errorf("the failure still stands after the phase was asked again: %+v", p)
	}
	if p := e.endOf("done"); p == nil || p.Result == nil || p.Result.Worker != "w1" {
		t.Errorf("the result was forgotten: %+v", p)
	}
}

// A workflow that is gone (it ended, or the cluster lost its store) is
// started again, and the phase asked of the new one.
func TestAskStartsAGoneWorkflow(t *testing.T) {
	f := &fakeCluster{gone: true}
	ask(t, fakeEngine(f, nil), "k")
	if f.started != 1 || f.signals != 1 {
		t.Errorf("workflow started %d times, phase asked %d times; want 1 and 1", f.started, f.signals)
	}
}

// The history's signals saying results were taken name their keys, in
// both forms (one key; several, as runs send now).
func TestTakenKeys(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	payloads := func(v interface{}) *commonpb.Payloads {
		p, err := dc.ToPayloads(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		a    *historypb.WorkflowExecutionSignaledEventAttributes
		want string
	}{
		{&historypb.WorkflowExecutionSignaledEventAttributes{SignalName: SignalTaken, Input: payloads("k1")}, "k1"},
		{&historypb.WorkflowExecutionSignaledEventAttributes{SignalName: SignalTakenAll, Input: payloads([]string{"k1", "k2"})}, "k1 k2"},
		{&historypb.WorkflowExecutionSignaledEventAttributes{SignalName: SignalPhase, Input: payloads(PhaseRequest{})}, ""},
		{&historypb.WorkflowExecutionSignaledEventAttributes{SignalName: SignalTakenAll, Input: payloads(42)}, ""},
	} {
		if got := strings.Join(takenKeys(c.a), " "); got != c.want {
			t.Errorf("takenKeys(%s) = %q, want %q", c.a.GetSignalName(), got, c.want)
		}
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{serviceerror.NewUnavailable("down"), true},
		{serviceerror.NewDeadlineExceeded("slow"), true},
		{serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down"), true},
		{serviceerror.NewCanceled("RST_STREAM"), true},
		{context.DeadlineExceeded, true},
		{serviceerror.NewNotFound("no workflow"), false},
		{serviceerror.NewInvalidArgument("bad"), false},
		{serviceerror.NewPermissionDenied("no", ""), false},
		{serviceerror.NewNamespaceNotFound("ns"), false},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// historyService answers the history's long polls with pages it was given,
// then with nothing until the call's context ends.
type historyService struct {
	workflowservice.WorkflowServiceClient
	mu    sync.Mutex
	pages []*workflowservice.GetWorkflowExecutionHistoryResponse
	calls int
}

func (h *historyService) GetWorkflowExecutionHistory(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest, _ ...grpc.CallOption) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	h.mu.Lock()
	h.calls++
	if len(h.pages) > 0 {
		p := h.pages[0]
		h.pages = h.pages[1:]
		h.mu.Unlock()
		return p, nil
	}
	h.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

type watchedCluster struct {
	*fakeCluster
	history *historyService
}

func (w watchedCluster) WorkflowService() workflowservice.WorkflowServiceClient { return w.history }

// A phase's end is seen in the history as the cluster writes it (here
// encoded, as a cluster may send it), without asking the workflow's state:
// the phase has its result before its first look (a second).
func TestPhaseEndSeenInTheHistory(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	result, err := dc.ToPayloads(phase.RemoteResult{Worker: "w2"})
	if err != nil {
		t.Fatal(err)
	}
	events := &historypb.History{Events: []*historypb.HistoryEvent{
		{EventId: 5, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{ActivityId: "k"}}},
		{EventId: 7, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: 5, Result: result}}},
	}}
	blob, err := proto.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	h := &historyService{pages: []*workflowservice.GetWorkflowExecutionHistoryResponse{
		{History: &historypb.History{}, NextPageToken: []byte("1")},
		{RawHistory: []*commonpb.DataBlob{{EncodingType: enumspb.ENCODING_TYPE_PROTO3, Data: blob}}, NextPageToken: []byte("2")},
	}}
	f := &fakeCluster{}
	e := &Engine{Client: watchedCluster{f, h}, Address: "temporal.example:7233", WorkflowID: "wf"}
	defer e.Close()
	start := time.Now()
	res, err := e.Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: time.Minute}, nil)
	if err != nil || res == nil || res.Worker != "w2" {
		t.Fatalf("Phase = %+v, %v", res, err)
	}
	if f.queries != 0 {
		t.Errorf("the workflow's state asked %d times; the history said", f.queries)
	}
	if took := time.Since(start); took >= watchedPoll {
		t.Errorf("the result came after %s, not from the history", took)
	}
}
