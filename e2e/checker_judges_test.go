package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestChaosCheckerJudges shows the checker can fail, on files alone (no
// processes): two acting claims at once are an overlap, a frozen or dead
// replica's file is not a claim, bad content and a file left after a clean
// exit are violations.
func TestChaosCheckerJudges(t *testing.T) {
	type cand struct {
		content *string // nil: no file
		state   func(c *chaosCandidate)
	}
	id := func(s string) *string { return &s }
	acting := func(c *chaosCandidate) {}
	tests := []struct {
		name           string
		cands          []cand // candidate i is "replica-i"
		wantOverlaps   int
		wantViolations int
		wantFrozen     bool
		wantStale      bool
	}{
		{"one leader", []cand{{id("replica-0"), acting}, {nil, acting}}, 0, 0, false, false},
		{"two files at once", []cand{{id("replica-0"), acting}, {id("replica-1"), acting}}, 1, 0, false, false},
		{"frozen leader's file is not a claim", []cand{{id("replica-0"), func(c *chaosCandidate) { c.stopped = true }}, {id("replica-1"), acting}}, 0, 0, true, false},
		{"woken leader within the grace", []cand{{id("replica-0"), func(c *chaosCandidate) { c.contAt = time.Now() }}, {id("replica-1"), acting}}, 0, 0, true, false},
		{"killed leader's file is not a claim", []cand{{id("replica-0"), func(c *chaosCandidate) { c.killAt = time.Now() }}, {id("replica-1"), acting}}, 0, 0, false, true},
		{"empty file", []cand{{id(""), acting}}, 0, 1, false, false},
		{"partial file", []cand{{id("repl"), acting}}, 0, 1, false, false},
		{"file after a clean exit", []cand{{id("replica-0"), func(c *chaosCandidate) { c.exited, c.cleanExit = true, true }}}, 0, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var cands []*chaosCandidate
			for i, spec := range tt.cands {
				c := &chaosCandidate{
					idx: i, id: fmt.Sprintf("replica-%d", i),
					statusFile: fmt.Sprintf("%s/status-%d", dir, i),
					httpAddr:   "127.0.0.1:1", // nothing answers: endpoint claims are not judged here
					p:          &testProc{},
					startedAt:  time.Now(), // starting: its silent endpoint is excused
				}
				spec.state(c)
				if spec.content != nil {
					if err := os.WriteFile(c.statusFile, []byte(*spec.content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cands = append(cands, c)
			}
			k := newChaosChecker(cands, chaosRules{WakeGrace: time.Second, StartupGrace: time.Minute}, nil)
			k.Start()
			time.Sleep(100 * time.Millisecond)
			k.Stop()
			rep := k.Report()
			if len(rep.FileOverlaps) != tt.wantOverlaps {
				t.Errorf("overlaps = %q, want %d", rep.FileOverlaps, tt.wantOverlaps)
			}
			// Bad content is reported on every read; count distinct kinds.
			if got := len(slices.Compact(trimTimes(rep.Violations))); got != tt.wantViolations {
				t.Errorf("violations = %q, want %d kinds", rep.Violations, tt.wantViolations)
			}
			if (rep.FrozenReads > 0) != tt.wantFrozen || (rep.StaleReads > 0) != tt.wantStale {
				t.Errorf("frozen reads %d, stale reads %d; want frozen %v, stale %v", rep.FrozenReads, rep.StaleReads, tt.wantFrozen, tt.wantStale)
			}
			if rep.Sweeps == 0 {
				t.Errorf("no sweep ran")
			}
		})
	}
}

// trimTimes drops the time prefix of violations so repeats compare equal.
func trimTimes(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		_, out[i], _ = strings.Cut(v, ": ")
	}
	return out
}

// TestChaosCheckerRules feeds the checker synthetic histories (sweeps,
// /leader answers, Lease reads at chosen times) and shows each rule can
// fail: every rule has a case that must be flagged and one close to it that
// must not.
func TestChaosCheckerRules(t *testing.T) {
	const ms = time.Millisecond
	rules := chaosRules{RenewDeadline: 2 * time.Second, WakeGrace: 500 * ms, Margin: 500 * ms,
		MaxSweepGap: 250 * ms, GapBound: 7 * time.Second, StartupGrace: 5 * time.Second, CrossSlack: time.Second}
	// A history is built from steps; base is the time 0 of the script.
	type step func(k *chaosChecker, base time.Time)
	at := func(base time.Time, m int) time.Time { return base.Add(time.Duration(m) * ms) }
	// sweeps reads every candidate each 100ms in [from, to): state(i, m)
	// says whether candidate i's file is there (f) or its child runs (c).
	sweeps := func(from, to int, state func(i, m int) string) step {
		return func(k *chaosChecker, base time.Time) {
			for m := from; m < to; m += 100 {
				reads := make([]fileRead, len(k.cands))
				for i, c := range k.cands {
					s := state(i, m)
					reads[i] = fileRead{t0: at(base, m), t1: at(base, m+1), present: strings.Contains(s, "f"), content: c.id,
						childAlive: strings.Contains(s, "c"), acting: true}
				}
				k.judgeSweep(reads)
			}
		}
	}
	// leader names one candidate's file by time span: in [from, to).
	fileOf := func(i0, from, to int) func(i, m int) string {
		return func(i, m int) string {
			if i == i0 && m >= from && m < to {
				return "f"
			}
			return ""
		}
	}
	none := func(int, int) string { return "" }
	answer := func(i, m int, isLeader bool, err error) step {
		return func(k *chaosChecker, base time.Time) {
			k.judgeAnswer(i, at(base, m), at(base, m+2), leaderAnswer{Identity: k.cands[i].id, IsLeader: isLeader}, err)
		}
	}
	// renewals writes the Lease as holder from..to every 500ms, acquired at acq.
	renewals := func(holder string, acq, from, to int) step {
		return func(k *chaosChecker, base time.Time) {
			for m := from; m <= to; m += 500 {
				k.judgeLease(leaseObs{exists: true, holder: holder, acquire: at(base, acq), renew: at(base, m)})
			}
		}
	}
	// leaseReads reads the Lease every 100ms in [from, to), holder renewing
	// every 500ms up to lastRenew; each read is sent at its time.
	leaseReads := func(holder string, acquired, from, to, lastRenew int) step {
		return func(k *chaosChecker, base time.Time) {
			for m := from; m < to; m += 100 {
				r := min(m/500*500, lastRenew)
				k.judgeLease(leaseObs{asOf: at(base, m), exists: true, holder: holder, acquire: at(base, acquired), renew: at(base, r)})
			}
		}
	}
	// interleave runs sweeps and Lease reads in [from, to) in time order,
	// 100ms at a time; holder acquired the Lease at from.
	interleave := func(from, to int, file func(i, m int) string, holder string, lastRenew int) step {
		return func(k *chaosChecker, base time.Time) {
			for m := from; m < to; m += 100 {
				sweeps(m, m+100, file)(k, base)
				leaseReads(holder, from, m+50, m+100, lastRenew)(k, base)
			}
		}
	}
	ownDeadline := func(r *chaosRules) { r.OwnDeadline = 300 * ms }
	state := func(f func(c *chaosCandidate, base time.Time)) step {
		return func(k *chaosChecker, base time.Time) {
			for _, c := range k.cands {
				f(c, base)
			}
		}
	}
	excuse := func(from, to int) step {
		return func(k *chaosChecker, base time.Time) { k.excuse(at(base, from), at(base, to)) }
	}
	hit := func(m int) step {
		return func(k *chaosChecker, base time.Time) { k.leaderHits = append(k.leaderHits, at(base, m)) }
	}
	shutdown := func(m int) step {
		return func(k *chaosChecker, base time.Time) { k.shutdownAt = at(base, m) }
	}
	type want struct {
		overlaps, zombies, margin, cross int
		violation                        string
	}
	tests := []struct {
		name  string
		exec  bool // candidate 0 runs in exec mode
		rules func(r *chaosRules)
		steps []step
		want  want
	}{
		{name: "zombie: the holder renews with no file for longer than RenewDeadline",
			steps: []step{sweeps(0, 3500, none), renewals("replica-0", 0, 0, 3000)},
			want:  want{zombies: 1}},
		{name: "renewals within RenewDeadline of the file going are no zombie (release delay)",
			steps: []step{sweeps(0, 1100, fileOf(0, 0, 1100)), sweeps(1100, 3500, none), renewals("replica-0", 0, 0, 2500)}},
		{name: "a fresh acquisition is no zombie",
			steps: []step{sweeps(0, 5000, none), renewals("replica-0", 5000, 5000, 5000), sweeps(5000, 7000, fileOf(0, 5000, 7000)), renewals("replica-0", 5000, 5500, 7000)}},
		{name: "a foreign holder is not judged",
			steps: []step{sweeps(0, 3500, none), renewals("intruder", 0, 0, 3000)}},
		{name: "a leaderless gap over the bound",
			steps: []step{sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 9000, none), sweeps(9000, 9500, fileOf(1, 9000, 9500))},
			want:  want{violation: "no replica acted for"}},
		{name: "a leaderless gap over an excused span",
			steps: []step{excuse(500, 9000), sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 9000, none), sweeps(9000, 9500, fileOf(1, 9000, 9500))}},
		{name: "nobody acts from the last claim to the shutdown, over the bound",
			steps: []step{sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 9000, none), shutdown(9000)},
			want:  want{violation: "until the shutdown"}},
		{name: "a leader acts past its last renewal + RenewDeadline",
			rules: ownDeadline,
			steps: []step{interleave(0, 4000, fileOf(0, 0, 4000), "replica-0", 1000)},
			want:  want{violation: "past its last renewal's start"}},
		{name: "a leader whose file goes by its deadline",
			rules: ownDeadline,
			steps: []step{interleave(0, 4000, fileOf(0, 0, 3200), "replica-0", 1000)}},
		{name: "a leader that keeps renewing keeps acting",
			rules: ownDeadline,
			steps: []step{interleave(0, 4000, fileOf(0, 0, 4000), "replica-0", 4000)}},
		{name: "a replica that lost the Lease acts past its last renewal",
			rules: ownDeadline,
			steps: []step{interleave(0, 1500, fileOf(0, 0, 1500), "replica-0", 1000), interleave(1500, 3600, fileOf(0, 0, 3600), "replica-1", 3600)},
			want:  want{violation: "past its last renewal's start"}},
		{name: "a gap over the bound after the last fault aimed at the leader",
			steps: []step{hit(2000), sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 9500, none), sweeps(9500, 9800, fileOf(1, 9500, 9800))},
			want:  want{violation: "after the last fault aimed at the leader"}},
		{name: "a gap over the bound, within it after a fault aimed at a new leader",
			steps: []step{hit(3000), sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 9500, none), sweeps(9500, 9800, fileOf(1, 9500, 9800))}},
		{name: "a gap within the bound",
			steps: []step{sweeps(0, 1000, fileOf(0, 0, 1000)), sweeps(1000, 7000, none), sweeps(7000, 7500, fileOf(1, 7000, 7500))}},
		{name: "sweeps further apart than the stated resolution",
			rules: func(r *chaosRules) { r.MaxSweepGap = 50 * ms },
			steps: []step{sweeps(0, 300, none)},
			want:  want{violation: "sweeps were up to"}},
		{name: "a running replica's /leader does not answer",
			steps: []step{answer(0, 100, false, errNoAnswer)},
			want:  want{violation: "did not answer while it ran"}},
		{name: "a stopped replica's /leader may not answer",
			steps: []step{state(func(c *chaosCandidate, _ time.Time) { c.stopped = true }), answer(0, 100, false, errNoAnswer)}},
		{name: "a replica being shut down may not answer",
			steps: []step{state(func(c *chaosCandidate, b time.Time) { c.termAt = b }), answer(0, 100, false, errNoAnswer)}},
		{name: "a replica starting may not answer yet",
			steps: []step{state(func(c *chaosCandidate, b time.Time) { c.answered, c.startedAt = false, b }), answer(0, 100, false, errNoAnswer)}},
		{name: "a replica started long ago that never answered",
			steps: []step{state(func(c *chaosCandidate, b time.Time) { c.answered, c.startedAt = false, b.Add(-6*time.Second) }), answer(0, 100, false, errNoAnswer)},
			want:  want{violation: "did not answer while it ran"}},
		{name: "isLeader:true with no status file",
			steps: []step{sweeps(0, 3000, none), answer(0, 1500, true, nil)},
			want:  want{cross: 1}},
		{name: "isLeader:false while the status file stays",
			steps: []step{sweeps(0, 3000, fileOf(0, 0, 3000)), answer(0, 1500, false, nil)},
			want:  want{cross: 1}},
		{name: "isLeader:true with the file",
			steps: []step{sweeps(0, 3000, fileOf(0, 0, 3000)), answer(0, 1500, true, nil)}},
		{name: "isLeader:true just after the file went (within the slack)",
			steps: []step{sweeps(0, 3000, fileOf(0, 0, 1000)), answer(0, 1200, true, nil)}},
		{name: "an exec child runs while another replica's file exists",
			exec:  true,
			steps: []step{sweeps(0, 300, func(i, m int) string { return map[int]string{0: "c", 1: "f"}[i] })},
			want:  want{overlaps: 1}},
		{name: "a status file appears within the margin of another's disappearance",
			steps: []step{sweeps(0, 3000, func(i, m int) string {
				return map[bool]string{true: "f"}[(i == 0 && m < 1000) || (i == 1 && m >= 1200)]
			})},
			want: want{margin: 1}},
		{name: "a status file appears after the margin",
			steps: []step{sweeps(0, 3000, func(i, m int) string {
				return map[bool]string{true: "f"}[(i == 0 && m < 1000) || (i == 1 && m >= 1600)]
			})}},
		{name: "exec mode releases at once: no margin",
			exec: true,
			steps: []step{sweeps(0, 3000, func(i, m int) string {
				return map[bool]string{true: "f"}[(i == 0 && m < 1000) || (i == 1 && m >= 1100)]
			})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := time.Now()
			var cands []*chaosCandidate
			for i := range 2 {
				c := &chaosCandidate{idx: i, id: fmt.Sprintf("replica-%d", i), p: &testProc{}, startedAt: base.Add(-10 * time.Second), answered: true}
				if i == 0 && tt.exec {
					c.childPidFile = "/nonexistent"
				}
				cands = append(cands, c)
			}
			r := rules
			if tt.rules != nil {
				tt.rules(&r)
			}
			k := newChaosChecker(cands, r, nil)
			k.began = base
			for _, s := range tt.steps {
				s(k, base)
			}
			rep := k.Report()
			got := want{overlaps: len(rep.FileOverlaps), zombies: len(rep.Zombies), margin: len(rep.MarginViolations), cross: len(rep.CrossViolations)}
			var matched []string
			for _, v := range rep.Violations {
				if tt.want.violation != "" && strings.Contains(v, tt.want.violation) {
					matched = append(matched, v)
				} else {
					t.Errorf("unexpected violation: %s", v)
				}
			}
			if tt.want.violation != "" {
				if len(matched) == 0 {
					t.Errorf("no violation %q among %q", tt.want.violation, rep.Violations)
				} else {
					got.violation = tt.want.violation
				}
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v\nreport:\n%s\nzombies %q\nmargin %q\ncross %q", got, tt.want, rep, rep.Zombies, rep.MarginViolations, rep.CrossViolations)
			}
		})
	}
}
