package leadership

import (
	"fmt"
	"log/slog"
	"time"
)

// Input is one thing that happened, handed to Step.
type Input interface{ isInput() }

// Start begins the election: the first input.
type Start struct{}

// Observed is a state of the Lease seen on the watch (an add, update or
// delete event, or the list after a relist).
type Observed struct{ Lease Lease }

// Outcome is what became of a write.
type Outcome int

const (
	// OK: the write landed; WriteResult.Lease is the stored object.
	OK Outcome = iota
	// Conflict: the Lease changed since the resourceVersion the write was
	// based on; nothing was written.
	Conflict
	// NotFound: an update of a Lease that does not exist.
	NotFound
	// AlreadyExists: a create of a Lease someone else created first.
	AlreadyExists
	// Refused: the API server answered and wrote nothing (forbidden,
	// invalid, too many requests). Err says why.
	Refused
	// Unknown: no answer (a timeout, a lost connection, a 5xx): the write
	// may or may not have landed.
	Unknown
)

var outcomeNames = [...]string{"ok", "conflict", "not-found", "already-exists", "refused", "unknown"}

func (o Outcome) String() string { return outcomeNames[o] }

// WriteResult answers the Write effect with the same Seq.
type WriteResult struct {
	Seq     uint64
	Outcome Outcome
	Lease   Lease  // the stored object when OK
	Err     string // why, when Refused or Unknown
}

// ReadResult answers the Read effect with the same Seq. Err is set when no
// answer came; a missing Lease is Lease.Exists false without Err.
type ReadResult struct {
	Seq   uint64
	Lease Lease
	Err   string
}

// Tick says time passed: the timer armed by SetTimer fired (or anything
// else woke the driver).
type Tick struct{}

// Shutdown asks to stop: end the term, release the Lease, exit.
type Shutdown struct{}

// FileShown answers ShowFile: the status file is visible (OK), or it was
// not made visible (the term had ended or its deadline passed before the
// rename: Aborted, or the write failed: Err).
type FileShown struct {
	Term    uint64
	OK      bool
	Aborted bool
	Err     string
}

// FileHidden answers HideFile: the status file is gone (or could not be
// removed: Err).
type FileHidden struct {
	Term uint64
	Err  string
}

// ChildStarted answers StartChild: Err says why it could not start;
// Aborted says the term's deadline passed before it could.
type ChildStarted struct {
	Term    uint64
	Aborted bool
	Err     string
}

// ChildExited says the term's child exited by itself with Code.
type ChildExited struct {
	Term uint64
	Code int
}

// ChildStopped answers StopChild: Gone says the child and every
// descendant are confirmed gone; false means something would not die
// within the bound and may still run.
type ChildStopped struct {
	Term uint64
	Gone bool
}

// PodLabeled answers LabelPod: this replica's Pod carries the leader label
// (OK), or it does not: Aborted (the term ended or its deadline passed
// before the label went on) or Err (a request failed). While the term acts
// the machine asks again a retry period later.
type PodLabeled struct {
	Term    uint64
	OK      bool
	Aborted bool
	Err     string
}

// Owner says which replica the shard planner wants to own this Lease
// (Config.Sharded; "" while it has no plan).
type Owner struct{ Identity string }

// HandoverAsked answers RequestHandover: the request is on the Lease (OK),
// or it is not (Err: a conflict with a renewal, a refusal, no answer).
type HandoverAsked struct {
	ID  string
	OK  bool
	Err string
}

// PodUnlabeled answers UnlabelPod: the label is off this replica's Pod (Err
// empty), or the attempt to remove it failed (Err); the machine asks again a
// retry period later.
type PodUnlabeled struct {
	Term uint64
	Err  string
}

func (Start) isInput()         {}
func (Observed) isInput()      {}
func (WriteResult) isInput()   {}
func (ReadResult) isInput()    {}
func (Tick) isInput()          {}
func (Shutdown) isInput()      {}
func (FileShown) isInput()     {}
func (FileHidden) isInput()    {}
func (ChildStarted) isInput()  {}
func (ChildExited) isInput()   {}
func (ChildStopped) isInput()  {}
func (PodLabeled) isInput()    {}
func (PodUnlabeled) isInput()  {}
func (HandoverAsked) isInput() {}
func (Owner) isInput()         {}

// Effect is one thing the driver must do, in the order Step returned them.
type Effect interface{ isEffect() }

// Write sends the record to the Lease: a create, or an update based on
// BaseRV (so it fails with a conflict if anyone wrote since). Its result
// comes back as WriteResult with the same Seq. Only one write is in flight
// at a time.
type Write struct {
	Seq    uint64
	Create bool
	BaseRV string
	Record Record
	// Base is the stored object at BaseRV when the machine has it
	// (Lease.Obj): an update writes the record into it, so the labels and
	// annotations others set survive.
	Base any
	// Priority is what the write publishes as the holder's priority (0:
	// none); a release publishes none.
	Priority int32
	// ClearHandover removes the hand-over request with this ID, if it is
	// still the one on the Lease: the write that takes the Lease fulfils
	// it, and a holder drops one that names itself.
	ClearHandover string
}

// RequestHandover asks the holder for a planned hand-over to To: the
// driver adds the request to the Lease (an update based on Base at BaseRV,
// so it fails if the Lease changed meanwhile). Nothing answers it; the
// machine sees the outcome on the Lease.
type RequestHandover struct {
	Request Handover
	BaseRV  string
	Base    any
}

// WithdrawHandover removes our own request, if it is still on the Lease.
type WithdrawHandover struct {
	ID     string
	BaseRV string
	Base   any
}

// Read gets the Lease from the API server; ReadResult answers.
type Read struct{ Seq uint64 }

// ShowFile makes the status file visible for Term, unless the driver's own
// clock is past Until (the term's deadline, which ExtendTerm moves) or the
// term was hidden meanwhile: the check is made right before the file
// becomes visible, after any slow write.
type ShowFile struct {
	Term  uint64
	Until time.Duration
	Token uint64 // the term's fencing token, written beside the file first
}

// ExtendTerm moves Term's deadline: a renewal succeeded.
type ExtendTerm struct {
	Term  uint64
	Until time.Duration
}

// HideFile removes the status file of Term now (and cancels a ShowFile of
// it still in flight).
type HideFile struct{ Term uint64 }

// LabelPod puts the leader label on this replica's Pod for Term (only when
// Config.Label): first it removes the label from every other Pod of the
// namespace that carries it (a crashed leader's leftover), then it labels
// this one, unless the driver's clock is past Until or the term ended
// meanwhile, so never two Pods carry it. PodLabeled answers.
type LabelPod struct {
	Term  uint64
	Until time.Duration
}

// UnlabelPod removes the leader label from this replica's Pod after Term
// ended (and stops a LabelPod of Term still in flight from labelling). It
// never delays HideFile, which comes first. The driver makes one attempt and
// answers with PodUnlabeled; the machine asks again after a failure.
type UnlabelPod struct{ Term uint64 }

// StartChild starts the command for Term, unless the driver's clock is past
// Until or the term ended meanwhile.
type StartChild struct {
	Term  uint64
	Until time.Duration
	Token uint64 // the term's fencing token, in the child's environment
}

// StopChild stops Term's child and every descendant; ChildStopped answers.
type StopChild struct{ Term uint64 }

// Publish is what the endpoints show: whether this replica acts (Leading,
// with its Term) and the Lease as last known.
type Publish struct {
	Term    uint64
	Leading bool
	Record  Record
	// Token is the fencing token of the term (0: none). See Token.
	Token uint64
}

// LeaderFile writes the current holder to the leader file ("" removes it).
type LeaderFile struct{ Holder string }

// SetTimer asks for a Tick at At (replacing any earlier request); At 0
// cancels it.
type SetTimer struct{ At time.Duration }

// Event records a Kubernetes Event on the Lease.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Metric counts one occurrence for the metrics endpoint.
type Metric struct{ Name MetricName }

// MetricName names a counter.
type MetricName int

const (
	// RenewOK counts successful writes naming us.
	RenewOK MetricName = iota
	// RenewFailed counts failed writes naming us (conflicts included).
	RenewFailed
	// Collision counts writes seen under our identity from another process.
	Collision
)

var metricNames = [...]string{"renew-ok", "renew-failed", "collision"}

func (n MetricName) String() string { return metricNames[n] }

// Log is a line for the process log.
type Log struct {
	Level slog.Level
	Msg   string
	Args  []any
}

// Exit ends the run: the Lease is released (or could not be, Reason
// says why) and nothing of ours is shown. Code is the process exit code.
type Exit struct {
	Code   int
	Reason string
}

func (Write) isEffect()            {}
func (Read) isEffect()             {}
func (ShowFile) isEffect()         {}
func (ExtendTerm) isEffect()       {}
func (HideFile) isEffect()         {}
func (StartChild) isEffect()       {}
func (StopChild) isEffect()        {}
func (LabelPod) isEffect()         {}
func (UnlabelPod) isEffect()       {}
func (RequestHandover) isEffect()  {}
func (WithdrawHandover) isEffect() {}
func (Publish) isEffect()          {}
func (LeaderFile) isEffect()       {}
func (SetTimer) isEffect()         {}
func (Event) isEffect()            {}
func (Metric) isEffect()           {}
func (Log) isEffect()              {}
func (Exit) isEffect()             {}

// Describe prints an input or effect for a trace.
func Describe(v any) string {
	switch v := v.(type) {
	case Observed:
		return "observed " + v.Lease.String()
	case WriteResult:
		s := fmt.Sprintf("write#%d %s", v.Seq, v.Outcome)
		if v.Outcome == OK {
			s += " " + v.Lease.String()
		}
		if v.Err != "" {
			s += " (" + v.Err + ")"
		}
		return s
	case ReadResult:
		if v.Err != "" {
			return fmt.Sprintf("read#%d failed (%s)", v.Seq, v.Err)
		}
		return fmt.Sprintf("read#%d %s", v.Seq, v.Lease)
	case Write:
		kind := "update@" + v.BaseRV
		if v.Create {
			kind = "create"
		}
		s := fmt.Sprintf("write#%d %s %s", v.Seq, kind, v.Record)
		if v.Priority != 0 {
			s += fmt.Sprintf(" priority=%d", v.Priority)
		}
		if v.ClearHandover != "" {
			s += " clears-request=" + v.ClearHandover
		}
		return s
	case RequestHandover:
		return fmt.Sprintf("request-handover id=%s to=%s @%s", v.Request.ID, v.Request.To, v.BaseRV)
	case WithdrawHandover:
		return fmt.Sprintf("withdraw-handover id=%s @%s", v.ID, v.BaseRV)
	case Log:
		return fmt.Sprintf("log %s %s %v", v.Level, v.Msg, v.Args)
	}
	return fmt.Sprintf("%T%+v", v, v)
}
