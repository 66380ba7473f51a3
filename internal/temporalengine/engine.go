package temporalengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
)

// Engine is a run's side of a pipeline's workflow (phase.Engine): it
// starts the workflow or joins the one running, asks it for phases and
// waits for their results.
type Engine struct {
	Client     client.Client
	Address    string // the cluster's, for messages
	Namespace  string // "" for DefaultNS
	WorkflowID string
	Input      PipelineInput
	// Poll is how often a phase asks the workflow for its result; by
	// default it watches the workflow's history instead (see watch).
	Poll time.Duration
	// Patience is how long Attach waits for a cluster it cannot reach
	// (default DefaultPatience); a phase waits its own
	// (phase.RemotePhase.Patience).
	Patience time.Duration
	// Log hears when the cluster stops answering and when it answers
	// again (nil: nobody).
	Log io.Writer
	outage
	seen  seen
	taken taken
}

// seen is what the run's phases last heard from the cluster, shared: the
// phases waiting at once ask for the workflow's state, and for who runs
// what, once per poll between them, not once each (the state query is a
// task for a worker, and a description a read of the workflow's store).
type seen struct {
	mu        sync.Mutex
	state     *State
	stateAt   time.Time
	workers   map[string]string // phase key → the worker running it
	workersAt time.Time
	// moved is closed, and replaced, when the workflow's history shows a
	// phase that ended (see watch): the phases waiting look at once.
	moved    chan struct{}
	watching bool
	stop     context.CancelFunc
	ends     map[string]*PhaseState // by key: phases that ended, from the history
}

// watch follows the workflow's history, long-polling the cluster: a
// phase's end (its activity completed, failed, timed out or cancelled) is
// kept, its result decoded from the event, and the phases waiting are
// woken. A result is so seen as soon as the cluster has it, without a
// query (a task for a worker) per look, and without waiting for the
// workflow to take it in. It follows the workflow across continue-as-new,
// and through an outage at its own pace; the phases' slow look at the
// workflow's state (watchedPoll) covers what it misses.
func (e *Engine) watch(ctx context.Context) {
	for ctx.Err() == nil {
		keys := map[int64]string{} // an activity's scheduled event → its phase's key
		var token []byte
		for ctx.Err() == nil {
			c, cancel := context.WithTimeout(ctx, historyPollTimeout)
			resp, err := e.Client.WorkflowService().GetWorkflowExecutionHistory(c, &workflowservice.GetWorkflowExecutionHistoryRequest{
				Namespace:              e.namespace(),
				Execution:              &commonpb.WorkflowExecution{WorkflowId: e.WorkflowID},
				NextPageToken:          token,
				WaitNewEvent:           true,
				SkipArchival:           true,
				HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
			})
			cancel()
			if err != nil {
				break
			}
			events, err := historyEvents(resp)
			if err != nil {
				break
			}
			for _, ev := range events {
				e.see(ev, keys)
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break // the run is over (it ended, or continued as new)
			}
			if len(events) > 0 {
				// A phase's events come in a few writes, milliseconds
				// apart (its request, its workflow task, its activity
				// taken, ended, and the workflow task that notes it):
				// asked again at once, the cluster answers each alone.
				select {
				case <-ctx.Done():
				case <-time.After(watchGather):
				}
			}
		}
		select { // the run continued as new, or the cluster is away
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// watchGather is how long the watch lets a workflow's events gather
// before it asks for them: a phase's end waits up to that long to be
// seen, and the cluster answers one call for several events.
const watchGather = 20 * time.Millisecond

// historyPollTimeout bounds one long poll of the history (the cluster
// answers within about 20 s when nothing happens), as the SDK's own.
const historyPollTimeout = 65 * time.Second

// historyEvents are the events of a page of history, which a cluster may
// send encoded (as the SDK's own iterator reads them).
func historyEvents(resp *workflowservice.GetWorkflowExecutionHistoryResponse) ([]*historypb.HistoryEvent, error) {
	if resp.GetRawHistory() == nil {
		return resp.GetHistory().GetEvents(), nil
	}
	var events []*historypb.HistoryEvent
	for _, blob := range resp.GetRawHistory() {
		if blob.GetEncodingType() != enumspb.ENCODING_TYPE_PROTO3 {
			return nil, fmt.Errorf("history encoded as %s", blob.GetEncodingType())
		}
		var h historypb.History
		if err := proto.Unmarshal(blob.GetData(), &h); err != nil {
			return nil, err
		}
		events = append(events, h.GetEvents()...)
	}
	return events, nil
}

// see takes in one event of the workflow's history.
func (e *Engine) see(ev *historypb.HistoryEvent, keys map[int64]string) {
	var end *PhaseState
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		key := ev.GetActivityTaskScheduledEventAttributes().GetActivityId()
		keys[ev.GetEventId()] = key
		e.setEnd(key, nil) // asked again: an earlier end is over
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		a := ev.GetActivityTaskCompletedEventAttributes()
		var res phase.RemoteResult
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetResult(), &res); err != nil {
			return // the workflow's state will say
		}
		end = &PhaseState{Key: keys[a.GetScheduledEventId()], Status: StatusDone, Result: &res}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		a := ev.GetActivityTaskFailedEventAttributes()
		end = &PhaseState{Key: keys[a.GetScheduledEventId()], Status: StatusFailed, Error: a.GetFailure().GetMessage()}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
		a := ev.GetActivityTaskTimedOutEventAttributes()
		end = &PhaseState{Key: keys[a.GetScheduledEventId()], Status: StatusFailed, Error: a.GetFailure().GetMessage()}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		a := ev.GetActivityTaskCanceledEventAttributes()
		end = &PhaseState{Key: keys[a.GetScheduledEventId()], Status: StatusCancelled}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		// A result taken is forgotten by the workflow (asked again, the
		// phase runs again): so here, or a history read again from its
		// start would answer the phase with it.
		for _, key := range takenKeys(ev.GetWorkflowExecutionSignaledEventAttributes()) {
			e.setEnd(key, nil)
		}
	}
	if end != nil && end.Key != "" {
		e.setEnd(end.Key, end)
		e.wake()
	}
}

// namespace is the cluster's namespace the workflow is in.
func (e *Engine) namespace() string {
	if e.Namespace != "" {
		return e.Namespace
	}
	return DefaultNS
}

// takenKeys are the keys of the results a signal says the run took (none
// for another signal).
func takenKeys(a *historypb.WorkflowExecutionSignaledEventAttributes) []string {
	dc := converter.GetDefaultDataConverter()
	switch a.GetSignalName() {
	case SignalTaken:
		var key string
		if dc.FromPayloads(a.GetInput(), &key) == nil {
			return []string{key}
		}
	case SignalTakenAll:
		var keys []string
		if dc.FromPayloads(a.GetInput(), &keys) == nil {
			return keys
		}
	}
	return nil
}

// setEnd keeps (or, nil, forgets) how a phase ended, as the history says.
func (e *Engine) setEnd(key string, end *PhaseState) {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if e.seen.ends == nil {
		e.seen.ends = map[string]*PhaseState{}
	}
	if end == nil {
		delete(e.seen.ends, key)
	} else {
		e.seen.ends[key] = end
	}
}

// endOf is how a phase ended, as the history said (nil if not seen).
func (e *Engine) endOf(key string) *PhaseState {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	return e.seen.ends[key]
}

// wake drops the state seen and wakes the phases waiting.
func (e *Engine) wake() {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	e.seen.state = nil
	if e.seen.moved != nil {
		close(e.seen.moved)
	}
	e.seen.moved = make(chan struct{})
}

// moved returns the channel closed at the next wake, starting the watch
// the first time.
func (e *Engine) moved() <-chan struct{} {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if !e.seen.watching {
		e.seen.watching = true
		var ctx context.Context
		ctx, e.seen.stop = context.WithCancel(context.Background())
		go e.watch(ctx)
	}
	if e.seen.moved == nil {
		e.seen.moved = make(chan struct{})
	}
	return e.seen.moved
}

// watchedPoll is how often a phase asks the workflow while the history is
// watched: what the watch may miss, and which worker runs it.
const watchedPoll = time.Second

// Close tells the workflow the results taken, stops the watch of the
// workflow and closes the client.
func (e *Engine) Close() {
	e.tellTaken()
	e.seen.mu.Lock()
	if e.seen.stop != nil {
		e.seen.stop()
	}
	e.seen.mu.Unlock()
	e.Client.Close()
}

// WorkflowID is the pipeline's workflow ID: one per repository and
// branch, so that a run started again joins the workflow it left.
func WorkflowID(repo, branch string) string {
	sum := sha256.Sum256([]byte(repo + "\x00" + branch))
	name := regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(filepath.Base(repo), "-")
	return fmt.Sprintf("chant/%s/%s/%s", name, strings.TrimPrefix(branch, "refs/heads/"), hex.EncodeToString(sum[:6]))
}

// Attach starts the pipeline's workflow, or joins it if it runs (never a
// second one); joined says which. It waits for a cluster it cannot reach
// (Patience).
func (e *Engine) Attach(ctx context.Context) (joined bool, err error) {
	if e.Input.Queue == "" {
		e.Input.Queue = DefaultQueue
	}
	patience := e.Patience
	if patience <= 0 {
		patience = DefaultPatience
	}
	err = e.call(ctx, patience, "start the workflow "+e.WorkflowID, func(ctx context.Context) error {
		if d, err := e.Client.DescribeWorkflowExecution(ctx, e.WorkflowID, ""); err == nil {
			joined = d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}
		_, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       e.WorkflowID,
			TaskQueue:                e.Input.Queue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, WorkflowName, e.Input)
		return err
	})
	return joined, err
}

// poll is the most a state seen may be reused for.
func (e *Engine) poll() time.Duration {
	if e.Poll > 0 {
		return e.Poll
	}
	return 250 * time.Millisecond
}

// recentState is the workflow's state as asked at most a poll ago (by any
// phase), asked again if older; fresh asks anew.
func (e *Engine) recentState(ctx context.Context, patience time.Duration, fresh bool) (*State, error) {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if !fresh && e.seen.state != nil && time.Since(e.seen.stateAt) < e.poll() {
		return e.seen.state, nil
	}
	var st *State
	err := e.call(ctx, patience, "ask the workflow "+e.WorkflowID, func(ctx context.Context) (err error) {
		st, err = e.state(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.seen.state, e.seen.stateAt = st, time.Now()
	return st, nil
}

// state asks the workflow what it knows.
func (e *Engine) state(ctx context.Context) (*State, error) {
	v, err := e.Client.QueryWorkflow(ctx, e.WorkflowID, "", QueryState)
	if err != nil {
		return nil, err
	}
	var st State
	if err := v.Get(&st); err != nil {
		return nil, err
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
// Interrupted, it cancels the phase on its worker. A cluster out of reach
// (a restart, a network cut) is waited for, as long as the phase may take
// (req.Patience): only then is the phase given up
// (phase.ErrEngineUnreachable), and it goes on on its worker.
func (e *Engine) Phase(ctx context.Context, req *phase.RemotePhase, update func(worker string)) (*phase.RemoteResult, error) {
	w := &phaseWatch{e: e, ctx: ctx, req: req, update: update, patience: req.Patience}
	if w.patience <= 0 {
		w.patience = DefaultPatience
	}
	if err := w.ask(); err != nil {
		return nil, err
	}
	poll := e.poll()
	if e.Poll <= 0 {
		poll = watchedPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var moved <-chan struct{}
		if e.Poll <= 0 {
			moved = e.moved()
		}
		select {
		case <-moved:
			if p := w.fromHistory(); p != nil {
				return w.ended(p)
			}
			continue
		case <-ctx.Done():
			// Stop its agent, wherever it runs (a new context: this one
			// has ended).
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			e.Client.SignalWorkflow(c, e.WorkflowID, "", SignalCancel, req.Key)
			cancel()
			return nil, ctx.Err()
		case <-t.C:
		}
		if res, over, err := w.look(); over {
			return res, err
		}
	}
}

// phaseWatch is one phase asked of the workflow, watched until it ends.
type phaseWatch struct {
	e        *Engine
	ctx      context.Context
	req      *phase.RemotePhase
	update   func(worker string)
	patience time.Duration
	asked    bool // the workflow has had time to take the signal
}

// ask asks the workflow for the phase. The workflow runs a phase it is
// asked for only if it neither runs it nor holds its result
// (pipeline.start), so the request is a signal, sent without asking the
// workflow's state first: that query, a task for a worker, once a phase,
// cost the cluster and the workers more than the signal.
func (w *phaseWatch) ask() error {
	e, req := w.e, w.req
	// An end the history showed stands if it is a result the workflow
	// keeps (the run asks for a phase it had asked for before it was
	// killed); a failure or a cancellation is over: the phase runs again.
	if p := e.endOf(req.Key); p != nil && p.Status != StatusDone {
		e.setEnd(req.Key, nil)
	}
	signal := func(ctx context.Context) error {
		return e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalPhase, PhaseRequest{Req: *req})
	}
	err := e.call(w.ctx, w.patience, "ask for "+req.Spec, signal)
	if !errors.As(err, new(*serviceerror.NotFound)) {
		return err
	}
	// The workflow is gone (it ended, or its cluster lost its store): a
	// new one runs the phase.
	if _, err := e.Attach(w.ctx); err != nil {
		return err
	}
	return e.call(w.ctx, w.patience, "ask for "+req.Spec, signal)
}

// ended is what the phase came to.
func (w *phaseWatch) ended(p *PhaseState) (*phase.RemoteResult, error) {
	w.e.setEnd(w.req.Key, nil)
	switch p.Status {
	case StatusDone:
		if w.update != nil && p.Result != nil {
			w.update(p.Result.Worker)
		}
		return p.Result, nil
	case StatusCancelled:
		return nil, fmt.Errorf("%w: cancelled on its worker", agent.ErrInterrupted)
	}
	return nil, fmt.Errorf("no worker could run it: %s", p.Error)
}

// fromHistory is the phase's end as the history says. A failure or a
// cancellation is checked against the workflow's state: replayed from the
// start (after continue-as-new, an outage), the history shows an earlier
// attempt's end before the phase was asked for again.
func (w *phaseWatch) fromHistory() *PhaseState {
	e := w.e
	p := e.endOf(w.req.Key)
	if p == nil || p.Status == StatusDone {
		return p
	}
	if st, err := e.recentState(w.ctx, w.patience, true); err == nil {
		if q := find(st, w.req.Key); q != nil && q.Status == StatusRunning {
			e.setEnd(w.req.Key, nil)
			return nil
		}
	}
	return p
}

// look asks the history, then the workflow's state, where the phase
// stands; over says it ended (with what it came to), or the watch failed.
func (w *phaseWatch) look() (res *phase.RemoteResult, over bool, err error) {
	e, req := w.e, w.req
	if p := w.fromHistory(); p != nil {
		res, err = w.ended(p)
		return res, true, err
	}
	st, err := e.recentState(w.ctx, w.patience, false)
	switch {
	case w.ctx.Err() != nil:
		return nil, false, nil
	case errors.As(err, new(*serviceerror.NotFound)):
		if err := w.ask(); err != nil {
			return nil, true, err
		}
		w.asked = false
		return nil, false, nil
	case err != nil:
		return nil, true, err
	}
	p := find(st, req.Key)
	switch {
	case p == nil:
		if w.asked {
			return nil, true, fmt.Errorf("%w: the workflow %s lost the phase %s", ErrConnection, e.WorkflowID, req.Key)
		}
		w.asked = true // the signal may not be in yet
		return nil, false, nil
	case p.Status != StatusRunning:
		res, err = w.ended(p)
		return res, true, err
	}
	w.asked = true
	if w.update != nil {
		if wk := e.worker(w.ctx, req.Key); wk != "" {
			w.update(wk)
		}
	}
	return nil, false, nil
}

// workersEvery is how often the run asks which worker runs what: it is
// for people to read, and a description costs the cluster more than a
// query.
const workersEvery = time.Second

// worker names the worker that has the phase now, from the workflow's
// pending activities as described at most workersEvery ago ("" if none
// has it yet, or the cluster does not answer).
func (e *Engine) worker(ctx context.Context, key string) string {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if e.seen.workers == nil || time.Since(e.seen.workersAt) >= workersEvery {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		d, err := e.Client.DescribeWorkflowExecution(c, e.WorkflowID, "")
		cancel()
		if err != nil {
			return ""
		}
		e.seen.workers, e.seen.workersAt = map[string]string{}, time.Now()
		for _, a := range d.GetPendingActivities() {
			if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				e.seen.workers[a.GetActivityId()] = a.GetLastWorkerIdentity()
			}
		}
	}
	return e.seen.workers[key]
}

// callTimeout bounds one call to the cluster: a call lost in a network
// cut is made again rather than waited for.
const callTimeout = 10 * time.Second

// outage is what an Engine knows of the cluster's reachability, shared by
// its phases, so that an outage is said once, and its end once.
type outage struct {
	mu   sync.Mutex
	down bool
}

// call makes a call to the cluster, again and again while it fails in a
// way that passes by itself (transient), for up to patience of failures in
// a row; then the error wraps phase.ErrEngineUnreachable. Another error
// is returned at once. The first failure, and the end of the outage, are
// said on Log.
func (e *Engine) call(ctx context.Context, patience time.Duration, what string, fn func(ctx context.Context) error) error {
	var since time.Time
	wait := 250 * time.Millisecond
	for {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		err := fn(c)
		cancel()
		if err == nil {
			e.answered()
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case !Transient(err):
			return fmt.Errorf("%w: %s: %w", ErrConnection, what, err)
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= patience:
			return fmt.Errorf("%w: the Temporal server at %s did not answer for %s (%s: %v)", phase.ErrEngineUnreachable, e.Address, patience, what, err)
		}
		e.unreachable(what, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (e *Engine) unreachable(what string, err error) {
	e.outage.mu.Lock()
	defer e.outage.mu.Unlock()
	if !e.outage.down && e.Log != nil {
		fmt.Fprintf(e.Log, "The Temporal server at %s is unreachable, waiting (%s: %v)\n", e.Address, what, err)
	}
	e.outage.down = true
}

func (e *Engine) answered() {
	e.outage.mu.Lock()
	defer e.outage.mu.Unlock()
	if e.outage.down && e.Log != nil {
		fmt.Fprintf(e.Log, "The Temporal server at %s answers again\n", e.Address)
	}
	e.outage.down = false
}

// Transient reports whether an error of a call to the cluster may pass by
// itself: the server unreachable or restarting, the network cut, a call
// that timed out, no worker polling yet to answer a query. A request the
// cluster refuses for what it is (invalid, not permitted, an unknown
// namespace, a workflow that does not exist) is not.
func Transient(err error) bool {
	switch {
	case errors.As(err, new(*serviceerror.InvalidArgument)), errors.As(err, new(*serviceerror.PermissionDenied)),
		errors.As(err, new(*serviceerror.NamespaceNotFound)), errors.As(err, new(*serviceerror.NotFound)),
		errors.As(err, new(*serviceerror.QueryFailed)), errors.As(err, new(*serviceerror.Unimplemented)),
		errors.As(err, new(*serviceerror.ClientVersionNotSupported)), errors.As(err, new(*serviceerror.ServerVersionNotSupported)):
		return false
	}
	if s, ok := status.FromError(err); ok && (s.Code() == codes.Unauthenticated || s.Code() == codes.PermissionDenied || s.Code() == codes.InvalidArgument) {
		return false
	}
	return true
}

// takenEvery is how long the run gathers the keys of the results it took
// before it tells the workflow, in one signal: each signal is a workflow
// task, a cost on the cluster and a worker.
const takenEvery = time.Second

// taken are the keys of results taken and not yet told.
type taken struct {
	mu    sync.Mutex
	keys  []string
	timer *time.Timer
}

// Done tells the workflow that the run has taken a phase's result, with
// the others taken within takenEvery (and at Finish or Close).
func (e *Engine) Done(key string) {
	e.taken.mu.Lock()
	defer e.taken.mu.Unlock()
	e.taken.keys = append(e.taken.keys, key)
	if e.taken.timer == nil {
		e.taken.timer = time.AfterFunc(takenEvery, e.tellTaken)
	}
}

// tellTaken tells the workflow the keys taken so far. Best effort: a
// result not forgotten stays until the pipeline ends.
func (e *Engine) tellTaken() {
	e.taken.mu.Lock()
	keys := e.taken.keys
	e.taken.keys = nil
	if e.taken.timer != nil {
		e.taken.timer.Stop()
		e.taken.timer = nil
	}
	e.taken.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.Client.SignalWorkflow(ctx, e.WorkflowID, "", SignalTakenAll, keys)
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
	e.tellTaken()
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
