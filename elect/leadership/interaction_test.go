package leadership

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestInteraction runs the scenario scripts in testdata/, in the style of
// etcd raft's interaction tests: each command is an input stepped into one
// machine, and its expected output is every effect the machine returned,
// in order, then the phase it is in. A reader follows a story input by
// input; a change in what the machine does shows as a diff. Regenerate
// after an intended change with
//
//	go test ./elect/leadership -run TestInteraction -rewrite
//
// and read the diff before committing it.
//
// Commands (every one but config takes at=, the monotonic time; the wall
// clock is wallEpoch plus the same offset, and a Lease's renew= and
// acquire= are wall offsets the same way):
//
//	config [exec] [label] [sharded] [grace=D] [delay=D] [identity=S] [priority=N]   (lease 3s, renew deadline 2s, retry 500ms)
//	start | tick | shutdown
//	observe rv=N (holder=S renew=D [acquire=D] tr=N [ld=N] [prio=N] [request=ID [to=S]] | absent)
//	read seq=N (rv=N holder=S ... | absent [rv=N] | err=S)
//	write seq=N (ok rv=N | conflict | not-found | already-exists | refused err=S | unknown err=S)
//	file-shown term=N (ok | aborted | err=S)      file-hidden term=N [err=S]
//	child-started term=N [aborted] [err=S]         child-exited term=N code=N
//	child-stopped term=N gone=BOOL
//	pod-labeled term=N (ok | aborted | err=S)     pod-unlabeled term=N [err=S]
//	handover-asked id=S (ok | err=S)               owner [id=S]
//
// A write's ok answer stores the record that write sent, at rv.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		it := &interaction{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return it.handle(t, d)
		})
	})
}

// interaction is one script's machine and what it remembers of the writes
// sent, so that an answer can name the record by the write's number.
type interaction struct {
	m      *Machine
	now    time.Duration
	writes map[uint64]Record
}

func (it *interaction) handle(t *testing.T, d *datadriven.TestData) string {
	if d.Cmd == "config" {
		cfg := Config{Identity: "me", LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}
		cfg.Exec, cfg.Label = d.HasArg("exec"), d.HasArg("label")
		cfg.Grace = durArg(t, d, "grace", 0)
		cfg.ReleaseDelay = durArg(t, d, "delay", 0)
		d.MaybeScanArgs(t, "identity", &cfg.Identity)
		if d.HasArg("priority") {
			cfg.Priority = int32(intArg(t, d, "priority"))
		}
		cfg.Sharded = d.HasArg("sharded")
		it.m, it.writes = New(cfg), map[uint64]Record{}
		return "ok"
	}
	if it.m == nil {
		t.Fatalf("%s: config first", d.Pos)
	}
	at := durArg(t, d, "at", -1)
	if at < it.now {
		t.Fatalf("%s: at=%v goes back before %v", d.Pos, at, it.now)
	}
	it.now = at
	out := it.m.Step(Now{Mono: at, Wall: wallEpoch.Add(at)}, it.input(t, d))
	var b strings.Builder
	for _, e := range out {
		if w, ok := e.(Write); ok {
			it.writes[w.Seq] = w.Record
		}
		b.WriteString(strings.TrimPrefix(Describe(e), "leadership."))
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "phase: %s", it.m.Phase())
	return b.String()
}

func (it *interaction) input(t *testing.T, d *datadriven.TestData) Input {
	term := func() uint64 { return uint64(intArg(t, d, "term")) }
	errArg := func() string {
		var s string
		d.MaybeScanArgs(t, "err", &s)
		return s
	}
	switch d.Cmd {
	case "start":
		return Start{}
	case "tick":
		return Tick{}
	case "shutdown":
		return Shutdown{}
	case "observe":
		return Observed{Lease: leaseArg(t, d)}
	case "read":
		seq := uint64(intArg(t, d, "seq"))
		if e := errArg(); e != "" {
			return ReadResult{Seq: seq, Err: e}
		}
		return ReadResult{Seq: seq, Lease: leaseArg(t, d)}
	case "write":
		seq := uint64(intArg(t, d, "seq"))
		res := WriteResult{Seq: seq, Err: errArg()}
		for o, name := range outcomeNames {
			if d.HasArg(name) {
				res.Outcome = Outcome(o)
			}
		}
		if res.Outcome == OK {
			rec, ok := it.writes[seq]
			if !ok {
				t.Fatalf("%s: no write#%d was sent", d.Pos, seq)
			}
			var rv string
			d.ScanArgs(t, "rv", &rv)
			res.Lease = Lease{Exists: true, RV: rv, Record: rec}
		}
		return res
	case "file-shown":
		return FileShown{Term: term(), OK: d.HasArg("ok"), Aborted: d.HasArg("aborted"), Err: errArg()}
	case "file-hidden":
		return FileHidden{Term: term(), Err: errArg()}
	case "child-started":
		return ChildStarted{Term: term(), Aborted: d.HasArg("aborted"), Err: errArg()}
	case "child-exited":
		return ChildExited{Term: term(), Code: intArg(t, d, "code")}
	case "child-stopped":
		var gone bool
		d.ScanArgs(t, "gone", &gone)
		return ChildStopped{Term: term(), Gone: gone}
	case "pod-labeled":
		return PodLabeled{Term: term(), OK: d.HasArg("ok"), Aborted: d.HasArg("aborted"), Err: errArg()}
	case "pod-unlabeled":
		return PodUnlabeled{Term: term(), Err: errArg()}
	case "owner":
		var id string
		d.MaybeScanArgs(t, "id", &id)
		return Owner{Identity: id}
	case "handover-asked":
		var id string
		d.ScanArgs(t, "id", &id)
		return HandoverAsked{ID: id, OK: d.HasArg("ok"), Err: errArg()}
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return nil
}

// leaseArg reads a Lease: absent [rv=N], or rv=N holder=S renew=D tr=N
// [acquire=D] [ld=N] (ld defaults to 3).
func leaseArg(t *testing.T, d *datadriven.TestData) Lease {
	var l Lease
	d.MaybeScanArgs(t, "rv", &l.RV)
	if d.HasArg("absent") {
		return l
	}
	l.Exists = true
	d.ScanArgs(t, "holder", &l.Record.Holder)
	renew := durArg(t, d, "renew", -1)
	l.Record.RenewTime = wallEpoch.Add(renew)
	l.Record.AcquireTime = wallEpoch.Add(durArg(t, d, "acquire", renew))
	l.Record.Transitions = int32(intArg(t, d, "tr"))
	l.Record.LeaseDurationSeconds = 3
	if d.HasArg("ld") {
		l.Record.LeaseDurationSeconds = int32(intArg(t, d, "ld"))
	}
	if d.HasArg("prio") {
		l.Priority = int32(intArg(t, d, "prio"))
	}
	d.MaybeScanArgs(t, "request", &l.Handover.ID)
	d.MaybeScanArgs(t, "to", &l.Handover.To)
	return l
}

// durArg reads a duration argument; def < 0 makes it required.
func durArg(t *testing.T, d *datadriven.TestData, key string, def time.Duration) time.Duration {
	arg, ok := d.Arg(key)
	if !ok {
		if def < 0 {
			t.Fatalf("%s: %s= is required", d.Pos, key)
		}
		return def
	}
	v, err := time.ParseDuration(arg.SingleVal(t))
	if err != nil {
		t.Fatalf("%s: %s: %v", d.Pos, key, err)
	}
	return v
}

func intArg(t *testing.T, d *datadriven.TestData, key string) int {
	arg, ok := d.Arg(key)
	if !ok {
		t.Fatalf("%s: %s= is required", d.Pos, key)
	}
	n, err := strconv.Atoi(arg.SingleVal(t))
	if err != nil {
		t.Fatalf("%s: %s: %v", d.Pos, key, err)
	}
	return n
}
