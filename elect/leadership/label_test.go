package leadership

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The leader label (Config.Label) follows the term: LabelPod right after
// ShowFile with the same deadline, UnlabelPod right after HideFile; without
// the label configured, neither is ever asked for.
func TestLabelFollowsTheTerm(t *testing.T) {
	for _, label := range []bool{true, false} {
		s := newScript(t, Config{Label: label})
		w := s.takeFree(4)
		out := s.at(2*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "11", Record: w.Record}})
		sf, _ := find[ShowFile](out)
		lp, ok := find[LabelPod](out)
		switch {
		case !label && ok:
			t.Fatalf("LabelPod without a label configured:\n%s", s.trace())
		case label && (!ok || lp.Term != 1 || lp.Until != sf.Until || index[LabelPod](out) < index[ShowFile](out)):
			t.Fatalf("want LabelPod for term 1 after ShowFile, with its deadline %v:\n%s", sf.Until, s.trace())
		}
		s.at(3*time.Millisecond, FileShown{Term: 1, OK: true})
		if label {
			s.at(4*time.Millisecond, PodLabeled{Term: 1, OK: true})
		}
		cleared := lease("12", "", 100*time.Millisecond, 5)
		out = s.at(100*time.Millisecond, Observed{Lease: cleared})
		up, ok := find[UnlabelPod](out)
		switch {
		case !label && ok:
			t.Fatalf("UnlabelPod without a label configured:\n%s", s.trace())
		case label && (!ok || up.Term != 1 || index[UnlabelPod](out) < index[HideFile](out)):
			t.Fatalf("want UnlabelPod for term 1 after HideFile:\n%s", s.trace())
		}
	}
}

// An ended term's label is removed before the replica competes again (the
// driver's removal of an old term could otherwise land after the new
// term's label); a failed attempt is only reported, the wait goes on.
func TestNoNewTermBeforeTheLabelIsOff(t *testing.T) {
	s := newScript(t, Config{Label: true})
	s.lead()
	s.at(4*time.Millisecond, PodLabeled{Term: 1, OK: true})
	s.at(100*time.Millisecond, Observed{Lease: lease("12", "", 100*time.Millisecond, 5)})
	out := s.at(101*time.Millisecond, FileHidden{Term: 1})
	if _, ok := find[Write](out); ok {
		t.Fatalf("competed again while the last term's label may still be on:\n%s", s.trace())
	}
	out = s.at(600*time.Millisecond, PodUnlabeled{Term: 1, Err: "connection refused"})
	if _, ok := find[Write](out); ok {
		t.Fatalf("a failed removal counted as done:\n%s", s.trace())
	}
	out = s.at(700*time.Millisecond, PodUnlabeled{Term: 1})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "me" {
		t.Fatalf("did not compete once the label was off:\n%s", s.trace())
	}
	out = s.at(710*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "13", Record: w.Record}})
	if lp, ok := find[LabelPod](out); !ok || lp.Term != 2 {
		t.Fatalf("term 2 did not label its Pod:\n%s", s.trace())
	}
}

// A label that could not be put on is asked for again every retry period
// while the term acts, and not after it ended.
func TestLabelRetried(t *testing.T) {
	s := newScript(t, Config{Label: true})
	s.lead()
	out := s.at(10*time.Millisecond, PodLabeled{Term: 1, Err: "the server is currently unable to handle the request"})
	if _, ok := find[LabelPod](out); ok {
		t.Fatalf("retried at once:\n%s", s.trace())
	}
	retry := 10*time.Millisecond + fastConfig.RetryPeriod
	if out = s.at(retry-time.Millisecond, Tick{}); index[LabelPod](out) >= 0 {
		t.Fatalf("retried before a retry period passed:\n%s", s.trace())
	}
	out = s.at(retry, Tick{})
	if lp, ok := find[LabelPod](out); !ok || lp.Term != 1 {
		t.Fatalf("the label was not asked for again:\n%s", s.trace())
	}
	s.at(retry+time.Millisecond, PodLabeled{Term: 1, Err: "again"})
	s.at(retry+2*time.Millisecond, Shutdown{})
	out = s.at(retry+fastConfig.RetryPeriod+time.Millisecond, Tick{})
	if _, ok := find[LabelPod](out); ok {
		t.Fatalf("labelled after the term ended:\n%s", s.trace())
	}
}

// On shutdown the Lease is released only once the label is off this Pod,
// like the status file; with no release delay, at once then.
func TestShutdownWaitsForTheLabel(t *testing.T) {
	s := newScript(t, Config{Label: true})
	s.lead()
	s.at(4*time.Millisecond, PodLabeled{Term: 1, OK: true})
	s.at(200*time.Millisecond, Shutdown{})
	out := s.at(201*time.Millisecond, FileHidden{Term: 1})
	if _, ok := find[Write](out); ok {
		t.Fatalf("released before the label was off:\n%s", s.trace())
	}
	out = s.at(300*time.Millisecond, PodUnlabeled{Term: 1, Err: "timeout"})
	if _, ok := find[Write](out); ok {
		t.Fatalf("released after a failed removal, within the bound:\n%s", s.trace())
	}
	out = s.at(900*time.Millisecond, PodUnlabeled{Term: 1})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "" {
		t.Fatalf("not released once the label was off:\n%s", s.trace())
	}
	out = s.at(910*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	if e, ok := find[Exit](out); !ok || e.Code != 0 {
		t.Fatalf("want exit 0:\n%s", s.trace())
	}
}

// A removal that never succeeds holds the release only for the renew
// deadline: then the Lease is released anyway (the next leader clears the
// label first) and the exit reports the failure with code 1.
func TestShutdownReleasesWhenTheLabelStays(t *testing.T) {
	s := newScript(t, Config{Label: true})
	s.lead()
	s.at(200*time.Millisecond, Shutdown{})
	out := s.at(201*time.Millisecond, FileHidden{Term: 1})
	bound := time.Second + 200*time.Millisecond + fastConfig.RenewDeadline
	if timer, ok := find[SetTimer](out); !ok || timer.At != bound {
		t.Fatalf("want a timer at the removal's bound %v:\n%s", bound, s.trace())
	}
	s.at(500*time.Millisecond, PodUnlabeled{Term: 1, Err: "forbidden"})
	out = s.at(bound-time.Second-time.Millisecond, Tick{})
	if _, ok := find[Write](out); ok {
		t.Fatalf("released before the bound:\n%s", s.trace())
	}
	out = s.at(bound-time.Second, Tick{})
	w, ok := find[Write](out)
	if !ok || w.Record.Holder != "" {
		t.Fatalf("not released at the bound:\n%s", s.trace())
	}
	out = s.at(bound-time.Second+5*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "12", Record: w.Record}})
	e, ok := find[Exit](out)
	if !ok || e.Code != 1 || !strings.Contains(e.Reason, "leader label") || !strings.Contains(e.Reason, "forbidden") {
		t.Fatalf("want exit 1 naming the label and the last error:\n%s", s.trace())
	}
}

// A renewal answered just after its term ended at the deadline must not
// start a new term over the old one's cleanup (its child could be left
// running, and its label's removal could land after the new label): the
// new term starts only once the file, child and label are gone. Found by
// the simulation (seed 179 with the label modelled).
func TestNoTermOverTheLastOnesCleanup(t *testing.T) {
	s := newScript(t, Config{Label: true, Exec: true, Grace: 500 * time.Millisecond})
	s.lead()
	s.at(4*time.Millisecond, ChildStarted{Term: 1})
	s.at(5*time.Millisecond, PodLabeled{Term: 1, OK: true})
	// A renewal goes out and gets no answer before the deadline (the write
	// that won the term was sent at 1ms; the window is RenewDeadline -
	// Grace in exec mode), so the term ends there.
	out := s.at(time.Millisecond+fastConfig.RetryPeriod, Tick{})
	w, ok := find[Write](out)
	if !ok {
		t.Fatalf("no renewal:\n%s", s.trace())
	}
	deadline := time.Millisecond + fastConfig.RenewDeadline - 500*time.Millisecond
	out = s.at(deadline, Tick{})
	if _, ok := find[StopChild](out); !ok || s.m.Acting() {
		t.Fatalf("the term did not end at its deadline:\n%s", s.trace())
	}
	out = s.at(deadline+4*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "30", Record: w.Record}})
	if _, ok := find[ShowFile](out); ok {
		t.Fatalf("a new term started while the last one's child and label may remain:\n%s", s.trace())
	}
	s.at(deadline+6*time.Millisecond, FileHidden{Term: 1})
	s.at(deadline+7*time.Millisecond, PodUnlabeled{Term: 1})
	out = s.at(deadline+200*time.Millisecond, ChildStopped{Term: 1, Gone: true})
	w, ok = find[Write](out)
	if !ok || w.Record.Holder != "me" || w.BaseRV != "30" {
		t.Fatalf("did not take the Lease again once the cleanup was done:\n%s", s.trace())
	}
	out = s.at(deadline+210*time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: Lease{Exists: true, RV: "31", Record: w.Record}})
	if sf, ok := find[ShowFile](out); !ok || sf.Term != 2 {
		t.Fatalf("term 2 did not start:\n%s", s.trace())
	}
}

// A deposed term that has not noticed may still take the label off every
// Pod but its own until its deadline, ours included. Each term looks once
// more a renew deadline and a retry period after it began (the driver puts
// the label back if it is gone), and only once.
func TestLabelCheckedOnceAfterTheDeposedCanAct(t *testing.T) {
	s := newScript(t, Config{Label: true})
	stored := s.lead()
	s.at(4*time.Millisecond, PodLabeled{Term: 1, OK: true})
	check := 2*time.Millisecond + fastConfig.RenewDeadline + fastConfig.RetryPeriod
	var labels []LabelPod
	rv := 11
	for at := 10 * time.Millisecond; at < 3*check; at += 100 * time.Millisecond {
		out := s.at(at, Tick{})
		if w, ok := find[Write](out); ok {
			rv++
			rec := w.Record
			stored = Lease{Exists: true, RV: fmt.Sprint(rv), Record: rec}
			out = append(out, s.at(at+time.Millisecond, WriteResult{Seq: w.Seq, Outcome: OK, Lease: stored})...)
		}
		for _, e := range out {
			if lp, ok := e.(LabelPod); ok {
				if at+time.Millisecond < check {
					t.Fatalf("the label was checked again at %v, before %v:\n%s", at, check, s.trace())
				}
				labels = append(labels, lp)
				s.at(at+2*time.Millisecond, PodLabeled{Term: lp.Term, OK: true})
			}
		}
	}
	if len(labels) != 1 || labels[0].Term != 1 || !s.m.Acting() {
		t.Fatalf("want one more LabelPod for term 1 while it leads, got %d:\n%s", len(labels), s.trace())
	}
}

// A removal of the label that failed is asked for again a retry period
// later, by the machine: the driver makes one attempt per UnlabelPod.
func TestUnlabelRetriedByTheMachine(t *testing.T) {
	s := newScript(t, Config{Label: true})
	s.lead()
	s.at(4*time.Millisecond, PodLabeled{Term: 1, OK: true})
	s.at(100*time.Millisecond, Observed{Lease: lease("12", "", 100*time.Millisecond, 5)})
	s.at(110*time.Millisecond, FileHidden{Term: 1})
	out := s.at(200*time.Millisecond, PodUnlabeled{Term: 1, Err: "connection refused"})
	if _, ok := find[UnlabelPod](out); ok {
		t.Fatalf("the removal was asked for again at once:\n%s", s.trace())
	}
	out = s.at(200*time.Millisecond+fastConfig.RetryPeriod, Tick{})
	if u, ok := find[UnlabelPod](out); !ok || u.Term != 1 {
		t.Fatalf("the removal was not asked for again a retry period later:\n%s", s.trace())
	}
	s.at(300*time.Millisecond+fastConfig.RetryPeriod, PodUnlabeled{Term: 1})
	for at := 400*time.Millisecond + fastConfig.RetryPeriod; at < 3*time.Second; at += 100 * time.Millisecond {
		if u, ok := find[UnlabelPod](s.at(at, Tick{})); ok {
			t.Fatalf("asked to remove the label again (%v) after it was off:\n%s", u, s.trace())
		}
	}
}
