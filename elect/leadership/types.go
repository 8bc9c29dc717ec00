package leadership

import (
	"fmt"
	"strconv"
	"time"
)

// Now is the time that comes with every input. Mono is the caller's
// monotonic clock (any origin): every duration the protocol judges is
// measured on it. Wall stamps the records written to the Lease, which
// others read (kubectl, dashboards) but never judge expiry by.
type Now struct {
	Mono time.Duration
	Wall time.Time
}

// Record is the leader-election record a Lease's spec holds, as client-go's
// resourcelock.LeaderElectionRecord reads it. Times have the microsecond
// precision the API server keeps, so a record read back equals the one
// written.
type Record struct {
	Holder               string
	LeaseDurationSeconds int32
	AcquireTime          time.Time
	RenewTime            time.Time
	Transitions          int32
}

// micro truncates t to what a Lease's MicroTime keeps.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// Same compares two records as the API server stores them.
func (r Record) Same(o Record) bool {
	return r.Holder == o.Holder && r.LeaseDurationSeconds == o.LeaseDurationSeconds &&
		r.Transitions == o.Transitions &&
		r.AcquireTime.UnixMicro() == o.AcquireTime.UnixMicro() &&
		r.RenewTime.UnixMicro() == o.RenewTime.UnixMicro()
}

func (r Record) String() string {
	h := r.Holder
	if h == "" {
		h = `""`
	}
	return fmt.Sprintf("holder=%s ld=%ds tr=%d renew=%s", h, r.LeaseDurationSeconds, r.Transitions, r.RenewTime.Format("15:04:05.000000"))
}

// Lease is one state of the Lease: present with a record, or absent. RV is
// its resourceVersion (of the deletion, when absent and known).
type Lease struct {
	Exists bool
	RV     string
	Record Record
	// Handover is a planned hand-over asked of the holder (ID empty:
	// none), from the Lease's annotation or spec.preferredHolder.
	Handover Handover
	// Priority is the holder's priority as it published it (0: none).
	Priority int32
	// Obj is the stored object this state was read from, opaque to the
	// machine: it keeps the newest one and hands it back with a write
	// based on it (Write.Base).
	Obj any
}

// Handover is a request for a planned hand-over: the holder releases the
// Lease at its next safe point; To, when set, names who should take it, and
// the others stand back for a lease duration.
type Handover struct {
	ID string
	To string
}

func (l Lease) String() string {
	if !l.Exists {
		return "absent@" + l.RV
	}
	s := l.Record.String()
	if l.Priority != 0 {
		s += fmt.Sprintf(" priority=%d", l.Priority)
	}
	if l.Handover.ID != "" {
		s += fmt.Sprintf(" handover=%s(to %q)", l.Handover.ID, l.Handover.To)
	}
	return s + " @" + l.RV
}

// Newer reports whether resourceVersion a is later than b. They are etcd
// revisions on every API server we know; should one not be a number, a
// difference counts as newer, which is the watch's own order.
func Newer(a, b string) bool {
	if a == "" || b == "" {
		return a != ""
	}
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != b
	}
	return x > y
}

// Config is what the machine decides with. See elect.Config for each rule.
type Config struct {
	Identity      string
	LeaseDuration time.Duration // whole seconds
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Exec says a child runs while leading; Grace is its stop time, so a
	// term acts until RenewDeadline - Grace after its last renewal.
	Exec  bool
	Grace time.Duration
	// ReleaseDelay is how long after the status file is gone the Lease is
	// released on shutdown. In exec mode the release waits for the child's
	// whole tree to be gone instead, and then for ReleaseDelay.
	ReleaseDelay time.Duration
	// Label says this replica's Pod carries a label while it leads
	// (--leader-label): the machine asks for LabelPod at the start of every
	// term and UnlabelPod at its end.
	Label bool
	// Priority is this replica's --priority: a follower whose priority is
	// strictly higher than the holder's asks for a hand-over to itself.
	Priority int32
	// Sharded says the Lease is one shard of a group (issue 22): the
	// replica takes it only when its planner wants it to own it (Owner),
	// and hands it over, with the full release protocol, when the planner
	// wants another. Not used by elect yet.
	Sharded bool
}

// actWindow is how long after the start of its last successful renewal a
// term may act.
func (c Config) actWindow() time.Duration {
	if c.Exec {
		return c.RenewDeadline - c.Grace
	}
	return c.RenewDeadline
}

// Phase is what a replica is doing. A replica starts Idle, follows, acts
// for a term, steps down when the term ends (its status file, child and
// label may still be there), follows again once they are gone, and on
// shutdown releases the Lease and is Done. A read or write may be in flight
// in any phase but Idle and Done.
type Phase uint8

const (
	// Idle: before Start.
	Idle Phase = iota
	// Following: not acting; takes the Lease when it is free or expired,
	// and renews a hold that no term acts on.
	Following
	// Acting: a term is active until its deadline, renewed each retry
	// period.
	Acting
	// SteppingDown: the term ended; what it showed may still be there, so
	// no new term starts and nothing is released until it is gone.
	SteppingDown
	// HandingOver: the term ended for a planned hand-over; once what it
	// showed is gone and the release delay has passed, the Lease is
	// released, and the replica follows again, standing back for a lease
	// duration.
	HandingOver
	// Releasing: shutting down: the term has ended; once what it showed
	// is gone and the release delay has passed, the Lease is released.
	Releasing
	// Done: exited; Step does nothing more.
	Done
)

var phaseNames = [...]string{"idle", "following", "acting", "stepping-down", "handing-over", "releasing", "done"}

func (p Phase) String() string { return phaseNames[p] }

// Token is the fencing token of a term that started with the write stored
// at resourceVersion rv: the etcd revision of that write, which grows with
// every write to any object, so a later term's token is greater than every
// earlier one's on this Lease, across a re-creation of the Lease and when
// the same identity leads again. Kubernetes documents resourceVersions as
// comparable integers from v1.35 on; before that they are etcd revisions in
// practice, not by contract (docs/fencing.md). 0 means rv is not a number:
// no token.
func Token(rv string) uint64 {
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
