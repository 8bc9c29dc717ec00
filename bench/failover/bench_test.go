package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"p50 of 20 is the 10th", twenty, 50, 10 * time.Millisecond},
		{"p95 of 20 is the 19th", twenty, 95, 19 * time.Millisecond},
		{"max", twenty, 100, 20 * time.Millisecond},
		{"p95 of 2 is the larger", ms(300, 100), 95, 300 * time.Millisecond},
		{"empty", nil, 95, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
			}
		})
	}
}

func TestRollingGoals(t *testing.T) {
	s := func(v ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x*float64(time.Second)))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		goal func([]time.Duration) (string, bool)
		in   []time.Duration
		want bool
	}{
		{"fast: all within 0.3s", fastGoal, s(0.02, 0.1, 0.3), true},
		{"fast: p95 over 0.3s", fastGoal, s(0.02, 0.1, 0.31), false},
		{"fast: no hand-over is no figure", fastGoal, nil, false},
		{"margin: all at least 3s", marginGoal, s(3, 3.2, 4), true},
		{"margin: one short", marginGoal, s(3.2, 2.99, 4), false},
		{"margin: no hand-over", marginGoal, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if line, ok := tc.goal(tc.in); ok != tc.want {
				t.Errorf("goal(%v) = %q, %v; want %v", tc.in, line, ok, tc.want)
			}
		})
	}
}

func TestPrintRollingNotAvailable(t *testing.T) {
	var b strings.Builder
	printRolling(&b, []rollingResult{
		{mode: rollingMode{desc: "ours, --release-delay 0", na: "binary lacks --release-delay", goal: fastGoal}},
		{mode: rollingMode{desc: "ours, exec mode", goal: fastGoal}, handovers: []time.Duration{time.Second}},
	}, 1)
	for _, want := range []string{"n/a (binary lacks --release-delay)", "n/a    ours, --release-delay 0", "MISSED ours, exec mode: graceful p95 1.000s <= 0.3s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
