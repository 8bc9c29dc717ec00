package leadership

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fastConfig is the e2e tests' timings: 3s > 2s + 0.5s.
var fastConfig = Config{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond, Grace: 500 * time.Millisecond}

// wallEpoch is the wall clock's reading at mono 0 in the scripts.
var wallEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// script steps one machine through inputs at given times.
type script struct {
	t   *testing.T
	m   *Machine
	now time.Duration
	log []string
}

func newScript(t *testing.T, cfg Config) *script {
	if cfg.Identity == "" {
		cfg.Identity = "me"
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = fastConfig.LeaseDuration, fastConfig.RenewDeadline, fastConfig.RetryPeriod
	}
	return &script{t: t, m: New(cfg), now: time.Second}
}

// at steps in at time d after the script's start and returns the effects.
func (s *script) at(d time.Duration, in Input) []Effect {
	s.t.Helper()
	if d+time.Second < s.now {
		s.t.Fatalf("time goes backwards: %v", d)
	}
	s.now = d + time.Second
	out := s.m.Step(Now{Mono: s.now, Wall: wallEpoch.Add(s.now)}, in)
	s.log = append(s.log, "<- "+Describe(in))
	for _, e := range out {
		s.log = append(s.log, "   "+Describe(e))
	}
	return out
}

func (s *script) trace() string { return strings.Join(s.log, "\n") }

func find[T Effect](effs []Effect) (T, bool) {
	for _, e := range effs {
		if v, ok := e.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func index[T Effect](effs []Effect) int {
	for i, e := range effs {
		if _, ok := e.(T); ok {
			return i
		}
	}
	return -1
}

func lease(rv string, holder string, renew time.Duration, transitions int32) Lease {
	t := wallEpoch.Add(renew)
	return Lease{Exists: true, RV: rv, Record: Record{Holder: holder, LeaseDurationSeconds: 3, AcquireTime: t, RenewTime: t, Transitions: transitions}}
}

// takeFree starts s's machine on a Lease held by nobody (resourceVersion
// 10, transitions as given) and returns the write that takes it, sent at
// 1ms.
func (s *script) takeFree(transitions int32) Write {
	s.t.Helper()
	s.at(0, Start{})
	out := s.at(time.Millisecond, ReadResult{Seq: 1, Lease: lease("10", "", 0, transitions)})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != s.m.cfg.Identity || w.BaseRV != "10" {
		s.t.Fatalf("a free Lease was not taken:\n%s", s.trace())
	}
	return w
}

// lead brings s's machine to lead term 1 on a Lease held by nobody, and
// returns the write's stored Lease.
func (s *script) lead() Lease {
	s.t.Helper()
	w := s.takeFree(4)
	stored := Lease{Exists: true, RV: "11", Record: w.Record}
	out := s.at(2*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: stored})
	if _, ok := find[ShowFile](out); !ok || !s.m.Acting() {
		s.t.Fatalf("the won write did not start a term:\n%s", s.trace())
	}
	s.at(3*time.Millisecond, FileShown{Term: 1, OK: true})
	return stored
}

// Defect 1: a foreign write clears the holder while we lead. The term ends at
// once, and the replica competes again and acts on what it takes: it never
// keeps the Lease renewed while not acting.
func TestForeignClearEndsTermThenLeadsAgain(t *testing.T) {
	s := newScript(t, Config{})
	held := s.lead()
	cleared := held
	cleared.RV, cleared.Record.Holder = "12", ""
	out := s.at(100*time.Millisecond, Observed{Lease: cleared})
	p, ok := find[Publish](out)
	if !ok || p.Leading || index[Publish](out) > index[HideFile](out) {
		t.Fatalf("want /leader false before the file goes:\n%s", s.trace())
	}
	if _, ok := find[Write](out); ok {
		t.Fatalf("wrote the Lease before its term's file was gone:\n%s", s.trace())
	}
	out = s.at(101*time.Millisecond, FileHidden{Term: 1})
	if timer, ok := find[SetTimer](out); ok {
		// At most one write per retry period: wait for the next slot.
		out = s.at(timer.At-time.Second, Tick{})
	}
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "me" || w.BaseRV != "12" {
		t.Fatalf("did not compete for the released Lease:\n%s", s.trace())
	}
	out = s.at(s.now-time.Second+10*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "13", Record: w.Record}})
	if sf, ok := find[ShowFile](out); !ok || sf.Term != 2 {
		t.Fatalf("the write that took the Lease back did not start term 2:\n%s", s.trace())
	}
}

// Defect 2: on shutdown the Lease is released only ReleaseDelay after the
// status file is gone, so an app polling the file has stopped first.
func TestShutdownReleasesAfterTheDelay(t *testing.T) {
	delay := 500 * time.Millisecond
	s := newScript(t, Config{ReleaseDelay: delay})
	s.lead()
	out := s.at(200*time.Millisecond, Shutdown{})
	if _, ok := find[HideFile](out); !ok {
		t.Fatalf("shutdown did not hide the file:\n%s", s.trace())
	}
	out = s.at(201*time.Millisecond, FileHidden{Term: 1})
	if _, ok := find[Write](out); ok {
		t.Fatalf("released at once:\n%s", s.trace())
	}
	timer, ok := find[SetTimer](out)
	if !ok || timer.At != time.Second+201*time.Millisecond+delay {
		t.Fatalf("want a timer at the file's removal + %v:\n%s", delay, s.trace())
	}
	out = s.at(201*time.Millisecond+delay-time.Millisecond, Tick{})
	if _, ok := find[Write](out); ok {
		t.Fatalf("released before the delay ran out:\n%s", s.trace())
	}
	out = s.at(201*time.Millisecond+delay, Tick{})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "" || w.Record.LeaseDurationSeconds != 1 || w.BaseRV != "11" {
		t.Fatalf("want client-go's release (no holder, 1s) based on our last write:\n%s", s.trace())
	}
	out = s.at(201*time.Millisecond+delay+5*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	if e, ok := find[Exit](out); !ok || e.Code != 0 {
		t.Fatalf("want exit 0 after the release:\n%s", s.trace())
	}
}

// Exec mode releases as soon as the child's whole tree is gone, and never
// when it could not be confirmed gone.
func TestExecReleaseWaitsForTheChildTree(t *testing.T) {
	for _, gone := range []bool{true, false} {
		s := newScript(t, Config{Exec: true, Grace: 500 * time.Millisecond})
		s.lead()
		s.at(4*time.Millisecond, ChildStarted{Term: 1})
		out := s.at(100*time.Millisecond, Shutdown{})
		if _, ok := find[StopChild](out); !ok {
			t.Fatalf("shutdown did not stop the child:\n%s", s.trace())
		}
		out = s.at(101*time.Millisecond, FileHidden{Term: 1})
		if _, ok := find[Write](out); ok {
			t.Fatalf("released before the child was stopped:\n%s", s.trace())
		}
		out = s.at(300*time.Millisecond, ChildStopped{Term: 1, Gone: gone})
		w, wrote := find[Write](out)
		e, exited := find[Exit](out)
		switch {
		case gone && (!wrote || w.Record.Holder != ""):
			t.Fatalf("the tree is gone but the Lease was not released at once:\n%s", s.trace())
		case !gone && (wrote || !exited || e.Code != 1):
			t.Fatalf("a child that would not die must leave the Lease to expire and exit 1:\n%s", s.trace())
		}
	}
}

// Defect 5: the deadline travels with ShowFile and StartChild, and a file
// that could not be shown before it ends the term.
func TestLateFileEndsTheTerm(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	out := s.at(50*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	sf, _ := find[ShowFile](out)
	if want := time.Second + time.Millisecond + fastConfig.RenewDeadline; sf.Until != want {
		t.Fatalf("ShowFile until %v, want the write's send time + renew deadline %v", sf.Until, want)
	}
	out = s.at(3*time.Second, FileShown{Term: 1, Aborted: true})
	if _, ok := find[HideFile](out); !ok || s.m.Acting() {
		t.Fatalf("a file the gate refused must end the term:\n%s", s.trace())
	}
}

// Defect 7: after the Lease is deleted, a follower that saw a live holder
// waits for that holder's lease to run out before creating it, and keeps the
// transition count going.
func TestDeletedLeaseWaitsForTheLastHolder(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	s.at(time.Millisecond, ReadResult{Seq: 1, Lease: lease("10", "other", 0, 7)})
	out := s.at(time.Second, Observed{Lease: Lease{RV: "11"}})
	if _, ok := find[Write](out); ok {
		t.Fatalf("created the Lease while its last holder may still lead:\n%s", s.trace())
	}
	out = s.at(3*time.Second+time.Millisecond-time.Microsecond, Tick{})
	if _, ok := find[Write](out); ok {
		t.Fatalf("created the Lease before the last holder's lease ran out:\n%s", s.trace())
	}
	out = s.at(3*time.Second+time.Millisecond, Tick{})
	w, ok := find[Write](out)
	if !ok || !w.Create || w.Record.Transitions != 8 {
		t.Fatalf("want a create with transitions 8 once the holder's lease ran out:\n%s", s.trace())
	}
}

// Defect 8: a follower that lost the race goes back to the watch (no
// polling), and says so at debug level, not as an error.
func TestLostRaceFollowsTheWinner(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	out := s.at(10*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: Conflict})
	for _, e := range out {
		if l, ok := e.(Log); ok && l.Level > slog.LevelDebug {
			t.Errorf("a lost race is logged at %v: %s", l.Level, l.Msg)
		}
	}
	out = s.at(20*time.Millisecond, Observed{Lease: lease("11", "winner", 10*time.Millisecond, 1)})
	if _, ok := find[Write](out); ok {
		t.Fatalf("wrote against a live winner:\n%s", s.trace())
	}
	timer, ok := find[SetTimer](out)
	if !ok || timer.At != time.Second+20*time.Millisecond+3*time.Second {
		t.Fatalf("want one timer at the winner's expiry by our observation:\n%s", s.trace())
	}
	// The winner renews: the expiry moves, still no write.
	out = s.at(2*time.Second, Observed{Lease: lease("12", "winner", 2*time.Second, 1)})
	if _, ok := find[Write](out); ok {
		t.Fatalf("wrote against a renewing winner:\n%s", s.trace())
	}
	// It releases: taken at once.
	rel := lease("13", "", 2500*time.Millisecond, 1)
	out = s.at(2500*time.Millisecond, Observed{Lease: rel})
	if w, ok := find[Write](out); !ok || w.BaseRV != "13" {
		t.Fatalf("a release was not taken at once:\n%s", s.trace())
	}
}

// Defect 9: SIGTERM while a takeover is in flight: if it succeeded, the
// Lease is released at once (no file was shown, so no delay).
func TestShutdownDuringTakeoverReleases(t *testing.T) {
	s := newScript(t, Config{ReleaseDelay: time.Second})
	w := s.takeFree(0)
	s.at(5*time.Millisecond, Shutdown{})
	out := s.at(10*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	if _, ok := find[ShowFile](out); ok {
		t.Fatalf("started a term while shutting down:\n%s", s.trace())
	}
	rel, ok := find[Write](out)
	if !ok || rel.Record.Holder != "" || rel.BaseRV != "11" {
		t.Fatalf("the takeover won during shutdown was not released at once:\n%s", s.trace())
	}
}

// An unanswered takeover during shutdown: the read decides.
func TestShutdownAfterUnknownTakeoverReads(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	s.at(5*time.Millisecond, Shutdown{})
	out := s.at(time.Second, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
	r, ok := find[Read](out)
	if !ok {
		t.Fatalf("an unanswered takeover during shutdown must be checked:\n%s", s.trace())
	}
	out = s.at(time.Second+10*time.Millisecond, ReadResult{Seq: r.Seq, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
	if rel, ok := find[Write](out); !ok || rel.Record.Holder != "" {
		t.Fatalf("the takeover landed, so it must be released:\n%s", s.trace())
	}
}

// A live twin under our identity ends our term at once and raises the alarm.
func TestTwinEndsTheTerm(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	out := s.at(100*time.Millisecond, Observed{Lease: lease("12", "me", 90*time.Millisecond, 4)})
	if _, ok := find[HideFile](out); !ok {
		t.Fatalf("a twin's write did not end the term:\n%s", s.trace())
	}
	if ev, ok := find[Event](out); !ok || !ev.Warning || ev.Reason != "IdentityCollision" {
		t.Fatalf("no collision warning:\n%s", s.trace())
	}
}

// The leader renews every retry period and stops acting at its deadline
// when renewals fail.
func TestDeadlineEndsTheTerm(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	out := s.at(time.Millisecond+fastConfig.RetryPeriod, Tick{})
	w, ok := find[Write](out)
	if !ok || w.BaseRV != "11" {
		t.Fatalf("no renewal after a retry period:\n%s", s.trace())
	}
	s.at(time.Millisecond+fastConfig.RetryPeriod+time.Second, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
	out = s.at(time.Millisecond+fastConfig.RenewDeadline, Tick{})
	if _, ok := find[HideFile](out); !ok || s.m.Acting() {
		t.Fatalf("still acting at the renew deadline:\n%s", s.trace())
	}
}

// Issue 21, defect 2: a follower that loses a race for a released Lease
// reads it at most once, whatever order the watch and the 409 come in. It
// used to mark the view the watch had already shown as stale and read it
// again at once, for ever: 171-185 GETs for 10 hand-overs.
func TestLostRaceReadsAtMostOnce(t *testing.T) {
	winner := lease("14", "winner", 2*time.Second, 2)
	tests := []struct {
		name      string
		watchWins bool // the watch shows the winner before the 409 comes
		reads     int
	}{
		{"the watch shows the winner first", true, 0},
		{"the 409 comes first", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, Config{})
			s.at(0, Start{})
			s.at(time.Millisecond, ReadResult{Seq: 1, Lease: lease("12", "old", 0, 1)})
			out := s.at(2*time.Second, Observed{Lease: lease("13", "", 2*time.Second, 1)})
			w, ok := find[Write](out)
			if !ok {
				t.Fatalf("a released Lease was not taken:\n%s", s.trace())
			}
			var effs []Effect
			if tt.watchWins {
				effs = append(effs, s.at(2010*time.Millisecond, Observed{Lease: winner})...)
				effs = append(effs, s.at(2020*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: Conflict})...)
			} else {
				effs = append(effs, s.at(2010*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: Conflict})...)
				if r, ok := find[Read](effs); ok {
					// The read answers with what the watch shows too.
					effs = append(effs, s.at(2020*time.Millisecond, ReadResult{Seq: r.Seq, Lease: winner})...)
				}
				effs = append(effs, s.at(2030*time.Millisecond, Observed{Lease: winner})...)
			}
			// Time passes within the winner's lease: nothing to read.
			for at := 2100 * time.Millisecond; at < 4*time.Second; at += 100 * time.Millisecond {
				effs = append(effs, s.at(at, Tick{})...)
			}
			reads := 0
			for _, e := range effs {
				if _, ok := e.(Read); ok {
					reads++
				}
			}
			if reads != tt.reads {
				t.Fatalf("%d reads after a lost race, want %d:\n%s", reads, tt.reads, s.trace())
			}
		})
	}
}

// A read served behind the write that failed (it shows the same state the
// write was based on) is asked again a retry period later, not at once.
func TestLaggingReadIsRetriedAfterARetryPeriod(t *testing.T) {
	s := newScript(t, Config{})
	s.at(0, Start{})
	s.at(time.Millisecond, ReadResult{Seq: 1, Lease: lease("12", "old", 0, 1)})
	out := s.at(2*time.Second, Observed{Lease: lease("13", "", 2*time.Second, 1)})
	w, _ := find[Write](out)
	out = s.at(2010*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: Conflict})
	r, ok := find[Read](out)
	if !ok {
		t.Fatalf("a 409 against the current view must be read:\n%s", s.trace())
	}
	out = s.at(2020*time.Millisecond, ReadResult{Seq: r.Seq, Lease: lease("13", "", 2*time.Second, 1)})
	if _, ok := find[Read](out); ok {
		t.Fatalf("a lagging read was asked again at once:\n%s", s.trace())
	}
	timer, ok := find[SetTimer](out)
	if want := time.Second + 2020*time.Millisecond + fastConfig.RetryPeriod; !ok || timer.At != want {
		t.Fatalf("want a timer at %v for the next read:\n%s", want, s.trace())
	}
	out = s.at(timer.At-time.Second, Tick{})
	if _, ok := find[Read](out); !ok {
		t.Fatalf("no read a retry period after a lagging one:\n%s", s.trace())
	}
}

// A status file that cannot be removed may still say we lead: the removal
// is tried again every retry period, and the Lease is released only once
// it succeeded.
func TestFailedRemovalIsRetriedBeforeTheRelease(t *testing.T) {
	s := newScript(t, Config{})
	s.lead()
	s.at(100*time.Millisecond, Shutdown{})
	out := s.at(110*time.Millisecond, FileHidden{Term: 1, Err: "remove: input/output error"})
	if w, ok := find[Write](out); ok {
		t.Fatalf("released the Lease while its status file may be there: %s\n%s", Describe(w), s.trace())
	}
	out = s.at(110*time.Millisecond+fastConfig.RetryPeriod, Tick{})
	if h, ok := find[HideFile](out); !ok || h.Term != 1 {
		t.Fatalf("the removal was not tried again a retry period later:\n%s", s.trace())
	}
	if _, ok := find[Write](out); ok {
		t.Fatalf("released the Lease before the file was gone:\n%s", s.trace())
	}
	out = s.at(120*time.Millisecond+fastConfig.RetryPeriod, FileHidden{Term: 1})
	if rel, ok := find[Write](out); !ok || rel.Record.Holder != "" {
		t.Fatalf("no release once the file was gone:\n%s", s.trace())
	}
}

// A replica whose writes naming it keep coming to light after their
// deadline (a slow API server, an acting window shorter than a round trip)
// must not keep the Lease alive without acting: after one late answer it
// takes the Lease again at once, after the second in a row it leaves it to
// expire (a lease duration and a retry period) so that another can lead.
// Seed 4123 of the simulation found the zombie.
func TestLateWritesLeaveTheLeaseToExpire(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	late := fastConfig.RenewDeadline + 100*time.Millisecond
	rv := 11
	answer := func(w Write, at time.Duration) []Effect {
		rv++
		return s.at(at, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: fmt.Sprint(rv), Record: w.Record}})
	}
	out := answer(w, time.Millisecond+late)
	again, ok := find[Write](out)
	if !ok || s.m.Acting() {
		t.Fatalf("after one late answer the Lease must be taken again at once, without acting:\n%s", s.trace())
	}
	out = answer(again, 2*late+10*time.Millisecond)
	if _, ok := find[Write](out); ok || s.m.Acting() {
		t.Fatalf("after a second late answer the Lease must be left to expire:\n%s", s.trace())
	}
	resume := 2*late + 10*time.Millisecond + fastConfig.LeaseDuration + fastConfig.RetryPeriod
	for at := 2*late + 100*time.Millisecond; at < resume; at += 100 * time.Millisecond {
		if w, ok := find[Write](s.at(at, Tick{})); ok {
			t.Fatalf("wrote %s at %v, before the Lease could expire for the others (%v):\n%s", Describe(w), at, resume, s.trace())
		}
	}
	if _, ok := find[Write](s.at(resume, Tick{})); !ok {
		t.Fatalf("no new attempt once the Lease could have expired:\n%s", s.trace())
	}
}

// The same when the late writes come to light on the watch, their answers
// lost: each is adopted too late to act on, and the second in a row leaves
// the Lease to expire.
func TestLateWritesSeenOnTheWatchLeaveTheLeaseToExpire(t *testing.T) {
	s := newScript(t, Config{})
	w := s.takeFree(0)
	at := time.Millisecond
	rv := 11
	for i := 0; i < 2; i++ {
		at += time.Second
		out := s.at(at, WriteResult{Seq: w.Seq, Outcome: Unknown, Err: "timeout"})
		r, ok := find[Read](out)
		if !ok {
			t.Fatalf("an unanswered write must be read:\n%s", s.trace())
		}
		// The read fails too; the watch shows the write after its deadline.
		s.at(at+500*time.Millisecond, ReadResult{Seq: r.Seq, Err: "timeout"})
		at += fastConfig.RenewDeadline
		rv++
		seen := Lease{Exists: true, RV: fmt.Sprint(rv), Record: w.Record}
		out = s.at(at, Observed{Lease: seen})
		if r, ok := find[Read](out); ok { // still unsure: the read says it landed
			out = append(out, s.at(at+10*time.Millisecond, ReadResult{Seq: r.Seq, Lease: seen})...)
		}
		if s.m.Acting() {
			t.Fatalf("acted on a write seen after its deadline:\n%s", s.trace())
		}
		next, ok := find[Write](out)
		if i == 1 {
			if ok {
				t.Fatalf("after the second late write the Lease must be left to expire:\n%s", s.trace())
			}
			break
		}
		if !ok {
			t.Fatalf("after one late write the Lease must be taken again at once:\n%s", s.trace())
		}
		w = next
	}
}
