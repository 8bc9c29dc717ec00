package leadership

import (
	"strings"
	"testing"
	"time"
)

// Scenarios for guards whose removal no other test noticed (issue 21:
// make mutate, internal/mutate/guards.txt names each guard). Each test says
// which mutation it kills and whether that mutant breaks the promise.

const ms = time.Millisecond

// noTermStarted fails t when out starts a term or acts for one: a status
// file, a child, a label or an Event saying this replica leads.
func noTermStarted(t *testing.T, s *script, out []Effect, what string) {
	t.Helper()
	_, file := find[ShowFile](out)
	_, child := find[StartChild](out)
	_, label := find[LabelPod](out)
	ev, event := find[Event](out)
	if file || child || label || (event && ev.Reason == "LeaderElection") || s.m.Acting() {
		t.Fatalf("%s started a term:\n%s", what, s.trace())
	}
}

// adopt-from-send-time (breaks the promise: the term outlives its
// deadline). A renewal whose answer was lost and which the watch shows
// later counts from when it was sent: the term's deadline is its send time
// + RenewDeadline, not the moment it was seen + RenewDeadline.
func TestWatchedRenewalCountsFromItsSend(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	w, ok := find[Write](s.at(501*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	s.at(601*ms, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "connection reset by peer"})
	out := s.at(1400*ms, Observed{Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	until := time.Second + 501*ms + fastConfig.RenewDeadline
	if ext, ok := find[ExtendTerm](out); !ok || ext.Until != until {
		t.Fatalf("want ExtendTerm until the renewal's send time + renew deadline (%v):\n%s", until, s.trace())
	}
	if out = s.at(until-time.Second, Tick{}); index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("still acting at the renewal's send time + renew deadline:\n%s", s.trace())
	}
}

// startchild-until-deadline (breaks the promise when the driver's loop is
// late: a child started after the deadline runs while another replica may
// lead). Every gate gets the term's deadline: the takeover's send time +
// the acting window (RenewDeadline - Grace in exec mode), and a renewal's
// ExtendTerm moves it to that renewal's send time + the window.
func TestGatesCarryTheTermsDeadline(t *testing.T) {
	grace := 500 * ms
	s := newScript(t, Config{Exec: true, Grace: grace, Label: true})
	w := s.takeFree(0)
	out := s.at(50*ms, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	until := time.Second + ms + fastConfig.RenewDeadline - grace
	sf, _ := find[ShowFile](out)
	sc, _ := find[StartChild](out)
	lp, _ := find[LabelPod](out)
	if sf.Until != until || sc.Until != until || lp.Until != until {
		t.Fatalf("want ShowFile, StartChild and LabelPod until %v:\n%s", until, s.trace())
	}
	s.at(52*ms, FileShown{Term: 1, OK: true})
	s.at(53*ms, ChildStarted{Term: 1})
	r, ok := find[Write](s.at(501*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	out = s.at(900*ms, WriteResult{Seq: r.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: r.Record}})
	if ext, ok := find[ExtendTerm](out); !ok || ext.Until != time.Second+501*ms+fastConfig.RenewDeadline-grace {
		t.Fatalf("want ExtendTerm until the renewal's send time + the window:\n%s", s.trace())
	}
}

// late-answer-no-term, adopt-within-deadline (no overlap: the term ends in
// the same step and the driver's gates refuse a file, child or label whose
// deadline passed; but the mutants lie: an Event on the Lease says this
// replica became leader, and a term number is spent on a term that never
// acted). A takeover answered, or seen landed, only after its deadline
// starts no term.
func TestLateTakeoverStartsNoTerm(t *testing.T) {
	late := ms + fastConfig.RenewDeadline // the takeover was sent at 1ms

	s := newScript(t, Config{Label: true})
	w := s.takeFree(0)
	out := s.at(late, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	noTermStarted(t, s, out, "a takeover answered at its deadline")

	s = newScript(t, Config{Label: true})
	w = s.takeFree(0)
	s.at(100*ms, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
	out = s.at(late, Observed{Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	noTermStarted(t, s, out, "a takeover seen landed at its deadline")
	if s.m.Term() != 0 {
		t.Fatalf("a term number was spent:\n%s", s.trace())
	}
}

// adopt-not-over-cleanup (breaks the promise in exec mode: the new term's
// child starts while the old term's may still run, and the new term's
// bookkeeping no longer waits for the old one to stop). A renewal seen
// landed after its term ended at the deadline starts no term while that
// term's file and child may remain.
func TestWatchedRenewalStartsNoTermOverCleanup(t *testing.T) {
	grace := 500 * ms
	s := newScript(t, Config{Exec: true, Grace: grace})
	s.lead()
	s.at(4*ms, ChildStarted{Term: 1})
	w, ok := find[Write](s.at(1001*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	s.at(1100*ms, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
	deadline := ms + fastConfig.RenewDeadline - grace
	if out := s.at(deadline, Tick{}); index[StopChild](out) < 0 {
		t.Fatalf("the term did not end at its deadline:\n%s", s.trace())
	}
	out := s.at(deadline+ms, Observed{Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	noTermStarted(t, s, out, "a renewal seen landed while the last term's file and child remain")
}

// adopt-not-shutting-down (breaks the promise: the term's file is shown
// while the release goes out, and another replica takes the released Lease
// at once). A takeover seen landed during shutdown starts no term; it is
// released.
func TestTakeoverSeenInShutdownStartsNoTerm(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(5*ms, Shutdown{})
	r, ok := find[Read](s.at(100*ms, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"}))
	if !ok {
		t.Fatalf("no read after the unanswered takeover:\n%s", s.trace())
	}
	out := s.at(110*ms, ReadResult{Seq: r.Seq, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	noTermStarted(t, s, out, "a takeover seen landed during shutdown")
	if rel, ok := find[Write](out); !ok || rel.Record.Holder != "" {
		t.Fatalf("the landed takeover was not released:\n%s", s.trace())
	}
}

// overwritten-not-acted (breaks the promise: two replicas act). A takeover
// answered OK after the watch showed another replica's later write acts on
// nothing: the Lease was ours only between the two.
func TestOverwrittenTakeoverStartsNoTerm(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(5*ms, Observed{Lease: lease("12", "other", 5*ms, 2)})
	out := s.at(10*ms, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	noTermStarted(t, s, out, "a takeover already overwritten")
	if _, ok := find[Write](out); ok {
		t.Fatalf("wrote against the replica that took the Lease after us:\n%s", s.trace())
	}
}

// conflict-ends-term (the deadline would end the term later; the promise
// holds by the margin, but the term outlives a proof that someone else
// wrote). A renewal that conflicted ends the term at once.
func TestRenewalConflictEndsTheTerm(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	w, ok := find[Write](s.at(501*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	out := s.at(510*ms, WriteResult{Seq: w.Seq, Outcome: Conflict})
	if index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("a conflicted renewal did not end the term:\n%s", s.trace())
	}
}

// unknown-sets-unsure, shutdown-waits-unsure (break the promise: the exit
// lies). A takeover with no answer during shutdown may have landed: when
// the read that would tell fails, the machine reads again a retry period
// later; it does not exit 0 saying it does not hold the Lease.
func TestShutdownStaysUnsureUntilARead(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(5*ms, Shutdown{})
	r, ok := find[Read](s.at(time.Second, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"}))
	if !ok {
		t.Fatalf("no read after the unanswered takeover:\n%s", s.trace())
	}
	out := s.at(1100*ms, ReadResult{Seq: r.Seq, Err: "timeout"})
	if e, ok := find[Exit](out); ok {
		t.Fatalf("exited (%d, %s) not knowing whether the takeover landed:\n%s", e.Code, e.Reason, s.trace())
	}
	r, ok = find[Read](s.at(1100*ms+fastConfig.RetryPeriod, Tick{}))
	if !ok {
		t.Fatalf("no second read a retry period later:\n%s", s.trace())
	}
	out = s.at(1700*ms, ReadResult{Seq: r.Seq, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	if rel, ok := find[Write](out); !ok || rel.Record.Holder != "" {
		t.Fatalf("the landed takeover was not released:\n%s", s.trace())
	}
}

// unsure-blocks-writes (no overlap, but the promise's "nothing renews
// without acting": unanswered takeovers would keep the Lease alive). After
// a takeover had no answer, a follower learns from a read whether it
// landed before it writes again.
func TestUnansweredTakeoverReadsBeforeWritingAgain(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(100*ms, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
	for _, d := range []time.Duration{600 * ms, 1500 * ms, 3 * time.Second} {
		if _, ok := find[Write](s.at(d, Tick{})); ok {
			t.Fatalf("wrote again before a read told whether the takeover landed:\n%s", s.trace())
		}
	}
}

// see-ignores-older (a write against a stale view: the API server's
// conflict check still stops it). A read's answer older than what the
// watch showed since is ignored: here it shows the Lease free, while the
// watch already showed it taken.
func TestOlderReadIgnored(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	s.at(5*ms, Observed{Lease: lease("12", "other", 5*ms, 2)})
	out := s.at(10*ms, ReadResult{Seq: 1, Lease: lease("11", "", 0, 1)})
	if _, ok := find[Write](out); ok {
		t.Fatalf("took the Lease on an older read's view:\n%s", s.trace())
	}
}

// read-notfound-older (the same, for a deletion). A read's NotFound is
// ignored when the watch showed the Lease since the read was sent: at the
// holder's expiry the follower updates the Lease it saw, it does not
// create one.
func TestOlderNotFoundIgnored(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	s.at(5*ms, Observed{Lease: lease("12", "other", 5*ms, 2)})
	s.at(10*ms, ReadResult{Seq: 1, Lease: Lease{}})
	out := s.at(5*ms+fastConfig.LeaseDuration, Tick{})
	if w, ok := find[Write](out); !ok || w.Create || w.BaseRV != "12" {
		t.Fatalf("want an update based on the Lease the watch showed:\n%s", s.trace())
	}
}

// twin-not-resumed (breaks the promise with a live twin: two processes
// under one identity act at once). A record under our identity that this
// process did not write is someone else's: a follower waits for it to
// expire like any other holder's.
func TestForeignRecordUnderOurIdentityWaits(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	out := s.at(ms, ReadResult{Seq: 1, Lease: lease("10", "me", 0, 4)})
	if _, ok := find[Write](out); ok {
		t.Fatalf("took over a record it did not write at once:\n%s", s.trace())
	}
	out = s.at(ms+fastConfig.LeaseDuration, Tick{})
	if w, ok := find[Write](out); !ok || w.Record.Transitions != 5 {
		t.Fatalf("want a takeover (transitions 5) once its lease ran out:\n%s", s.trace())
	}
}

// one-write-at-a-time, one-renewal-at-a-time (no overlap: the second
// write conflicts or its answer is ignored; but Write's contract is one in
// flight). A write with no answer yet holds the next one back, however long
// it takes: a renewal while acting, a takeover while following.
func TestOneWriteInFlight(t *testing.T) {
	tests := []struct {
		name  string
		first func(s *script) // sends a write at 1ms, left unanswered
	}{
		{"a renewal", func(s *script) {
			s.lead()
			if _, ok := find[Write](s.at(501*ms, Tick{})); !ok {
				t.Fatalf("no renewal:\n%s", s.trace())
			}
		}},
		{"a takeover", func(s *script) { s.takeFree(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, Config{})
			tt.first(s)
			for at := 600 * ms; at < 3*time.Second; at += 100 * ms {
				if w, ok := find[Write](s.at(at, Tick{})); ok {
					t.Fatalf("a second write (%s) while the first had no answer:\n%s", Describe(w), s.trace())
				}
			}
		})
	}
}

// follower-retry-period, read-retry-period (no overlap: load on the API
// server). A refused takeover is tried again a retry period after it was
// sent, and a failed read a retry period after it failed, never at once.
func TestRetriesWaitARetryPeriod(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	out := s.at(10*ms, WriteResult{Seq: w.Seq, Outcome: Refused, Err: "forbidden"})
	if _, ok := find[Write](out); ok {
		t.Fatalf("a refused takeover was tried again at once:\n%s", s.trace())
	}
	if _, ok := find[Write](s.at(ms+fastConfig.RetryPeriod, Tick{})); !ok {
		t.Fatalf("not tried again a retry period after the first was sent:\n%s", s.trace())
	}

	s = newScript(t, Config{})
	s.at(0, Start{})
	if out := s.at(10*ms, ReadResult{Seq: 1, Err: "connection refused"}); index[Read](out) >= 0 {
		t.Fatalf("a failed read was tried again at once:\n%s", s.trace())
	}
	if out := s.at(10*ms+fastConfig.RetryPeriod, Tick{}); index[Read](out) < 0 {
		t.Fatalf("no read a retry period after the failed one:\n%s", s.trace())
	}
}

// aborted-file-ends-term, aborted-child-ends-term (break the promise's
// "none lies": /leader says leading while the file was never shown, or the
// file says leading while the command never started). The driver's gate
// refused the file (or the child) at the old deadline, and a renewal
// answered just before the refusal reached the machine moved the deadline:
// the refusal still ends the term.
func TestGateRefusalEndsTheTerm(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(2*ms, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	r, ok := find[Write](s.at(1501*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	s.at(2050*ms, WriteResult{Seq: r.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: r.Record}})
	if !s.m.Acting() {
		t.Fatalf("the renewal did not keep the term:\n%s", s.trace())
	}
	out := s.at(2060*ms, FileShown{Term: 1, Aborted: true})
	if index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("the term goes on without its status file:\n%s", s.trace())
	}

	grace := 500 * ms
	s = newScript(t, Config{Exec: true, Grace: grace})
	s.lead()
	r, ok = find[Write](s.at(1001*ms, Tick{}))
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	s.at(1550*ms, WriteResult{Seq: r.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: r.Record}})
	out = s.at(1560*ms, ChildStarted{Term: 1, Aborted: true})
	if index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("the term goes on without its command:\n%s", s.trace())
	}
}

// hidden-error-stuck (breaks the promise: the file may still be there when
// the release lets another replica lead at once). A status file that
// could not be removed means no release while it may be there: the removal
// is tried again every retry period, and if it never succeeds the shutdown
// gives up at its bound with exit 1, leaving the Lease to expire by itself.
func TestUnremovableFileKeepsTheLease(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	s.at(200*ms, Shutdown{})
	var out []Effect
	for at := 201 * ms; at < 200*ms+fastConfig.LeaseDuration+time.Second; at += 100 * ms {
		out = s.at(at, FileHidden{Term: 1, Err: "remove /run/leader: input/output error"})
		out = append(out, s.at(at+50*ms, Tick{})...)
		if w, ok := find[Write](out); ok {
			t.Fatalf("released the Lease while the status file may remain: %s\n%s", Describe(w), s.trace())
		}
		if _, ok := find[Exit](out); ok {
			break
		}
	}
	if e, ok := find[Exit](out); !ok || e.Code != 1 || !strings.Contains(e.Reason, "status file could not be removed") {
		t.Fatalf("want exit 1 saying the file could not be removed:\n%s", s.trace())
	}
}

// adopt-not-older (no overlap: the old write's deadline bounds the term
// either way; but a write would count twice). A write of ours counts once:
// after a term ended on a conflict (here a foreign metadata change), the
// read showing our last renewal unchanged does not start a term from that
// renewal again; the replica takes the Lease with a new write.
func TestWriteCountsOnce(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	w2, _ := find[Write](s.at(501*ms, Tick{}))
	s.at(510*ms, WriteResult{Seq: w2.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: w2.Record}})
	w3, ok := find[Write](s.at(1001*ms, Tick{}))
	if !ok || w3.BaseRV != "12" {
		t.Fatalf("no renewal based on 12:\n%s", s.trace())
	}
	r, ok := find[Read](s.at(1010*ms, WriteResult{Seq: w3.Seq, Outcome: Conflict}))
	if !ok || s.m.Acting() {
		t.Fatalf("a conflicted renewal did not end the term and read:\n%s", s.trace())
	}
	s.at(1011*ms, FileHidden{Term: 1})
	out := s.at(1020*ms, ReadResult{Seq: r.Seq, Lease: Lease{Exists: true, RV: "13", Record: w2.Record}})
	noTermStarted(t, s, out, "the renewal its last term already counted")
	w4, ok := find[Write](out)
	if !ok || w4.Record.Holder != "me" || w4.BaseRV != "13" {
		t.Fatalf("want a new write naming us based on 13:\n%s", s.trace())
	}
	out = s.at(1030*ms, WriteResult{Seq: w4.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "14", Record: w4.Record}})
	if sf, ok := find[ShowFile](out); !ok || sf.Term != 2 {
		t.Fatalf("the new write did not start term 2:\n%s", s.trace())
	}
}

// adopt-write-in-flight (no overlap: a landed write bounds a term either
// way; but two sources would decide one holding). While a write is in
// flight its answer decides: an earlier write of ours seen landed meanwhile
// moves nothing, and when the one in flight then conflicts the term ends.
func TestWriteInFlightDecides(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	a, _ := find[Write](s.at(501*ms, Tick{}))
	s.at(601*ms, WriteResult{Seq: a.Seq, Outcome: Unknown, Err: "connection reset by peer"})
	b, ok := find[Write](s.at(1001*ms, Tick{}))
	if !ok {
		t.Fatalf("no second renewal:\n%s", s.trace())
	}
	out := s.at(1100*ms, Observed{Lease: Lease{Exists: true, RV: "12", Record: a.Record}})
	if _, ok := find[ExtendTerm](out); ok {
		t.Fatalf("moved the deadline while a write was in flight:\n%s", s.trace())
	}
	out = s.at(1110*ms, WriteResult{Seq: b.Seq, Outcome: Conflict})
	if index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("the conflicted renewal did not end the term:\n%s", s.trace())
	}
}

// not-holding-exit (breaks the promise: exit 0 says the Lease is not ours
// while it names this replica; found before only by the simulation, seed
// 20). A renewal that conflicted on a mere metadata change leaves the
// Lease naming us though the machine no longer holds it: shutdown releases
// it, based on what the watch showed, rather than exit saying it does not
// hold it.
func TestShutdownReleasesOurRecordAfterAConflict(t *testing.T) {
	s := newScript(t, Config{})
	held := s.lead()
	w, ok := find[Write](s.at(501*ms, Tick{}))
	if !ok || w.BaseRV != "11" {
		t.Fatalf("no renewal based on 11:\n%s", s.trace())
	}
	meta := held
	meta.RV = "12" // a label or an annotation: our record, a new resourceVersion
	s.at(505*ms, Observed{Lease: meta})
	s.at(510*ms, WriteResult{Seq: w.Seq, Outcome: Conflict})
	if s.m.Acting() {
		t.Fatalf("a conflicted renewal did not end the term:\n%s", s.trace())
	}
	// Our record is what the watch shows at 12, and the shutdown comes
	// before the file is gone: the machine does not hold the Lease, but it
	// is ours, so the shutdown ends in a release based on 12, never in an
	// exit while the Lease names us.
	if e, ok := find[Exit](s.at(511*ms, Shutdown{})); ok {
		t.Fatalf("exited (%d, %s) before the file was gone:\n%s", e.Code, e.Reason, s.trace())
	}
	out := s.at(520*ms, FileHidden{Term: 1})
	if e, ok := find[Exit](out); ok {
		t.Fatalf("exited (%d, %s) while the Lease names this replica:\n%s", e.Code, e.Reason, s.trace())
	}
	if rel, ok := find[Write](out); !ok || rel.Record.Holder != "" || rel.BaseRV != "12" {
		t.Fatalf("want a release based on what the watch showed (12):\n%s", s.trace())
	}
}

// child-exit-shuts-down (no overlap; the contract elect.Run documents: a
// command that exits while leading ends the run with its exit code, after
// the release, instead of the replica competing again and starting a new
// one).
func TestCommandExitEndsTheRun(t *testing.T) {
	s := newScript(t, Config{Exec: true, Grace: 500 * ms})
	s.lead()
	s.at(4*ms, ChildStarted{Term: 1})
	out := s.at(100*ms, ChildExited{Term: 1, Code: 3})
	if index[HideFile](out) < 0 || s.m.Acting() {
		t.Fatalf("the command's exit did not end the term:\n%s", s.trace())
	}
	s.at(101*ms, FileHidden{Term: 1})
	out = s.at(102*ms, ChildStopped{Term: 1, Gone: true})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "" {
		t.Fatalf("want the release once the file and the tree are gone:\n%s", s.trace())
	}
	out = s.at(110*ms, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	if e, ok := find[Exit](out); !ok || e.Code != 3 {
		t.Fatalf("want exit 3, the command's code:\n%s", s.trace())
	}
}

// A write based on a state of the Lease carries that state's stored object
// (Write.Base), so the driver updates it and what others set on it
// survives; a write based on a state the machine has no object for (or a
// create) carries none, and the driver then writes a bare object, which the
// resourceVersion still guards.
func TestWriteCarriesItsBase(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	free := lease("10", "", 0, 0)
	free.Obj = "object@10"
	w, ok := find[Write](s.at(ms, ReadResult{Seq: 1, Lease: free}))
	if !ok || w.Base != "object@10" {
		t.Fatalf("the takeover's base is %v, want the object read at 10:\n%s", w.Base, s.trace())
	}
	stored := Lease{Exists: true, RV: "11", Record: w.Record, Obj: "object@11"}
	s.at(2*ms, WriteResult{Seq: w.Seq, Outcome: OK, Lease: stored})
	if r, ok := find[Write](s.at(501*ms, Tick{})); !ok || r.BaseRV != "11" || r.Base != "object@11" {
		t.Fatalf("the renewal's base is %v at %q, want the object stored at 11:\n%s", r.Base, r.BaseRV, s.trace())
	}
}
