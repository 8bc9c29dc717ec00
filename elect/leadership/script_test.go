package leadership

// The helpers of the scenario tests written in Go (guards_test.go,
// label_test.go): each asserts what one guard protects. The stories are
// scripts in testdata/ (interaction_test.go).

import (
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
