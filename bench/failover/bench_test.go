package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/reqcount"
)

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

func TestLeaseRows(t *testing.T) {
	const what = "graceful hand-over"
	for _, tc := range []struct {
		name       string
		ours, base reqcount.Counts
		n          int
		want       []requestRow
	}{
		{
			name: "per hand-over, GET LIST PUT always, other resources left out",
			ours: reqcount.Counts{"leases get": 20, "leases update": 30, "events create": 10},
			base: reqcount.Counts{"leases get": 70, "leases update": 25},
			n:    10,
			want: []requestRow{
				{"Lease requests per " + what, 5, 9.5},
				{"  Lease GETs per " + what, 2, 7},
				{"  Lease LISTs per " + what, 0, 0},
				{"  Lease PUTs per " + what, 3, 2.5},
			},
		},
		{
			name: "WATCH and CREATE when either made one",
			ours: reqcount.Counts{"leases watch": 4, "leases list": 2},
			base: reqcount.Counts{"leases create": 1},
			n:    2,
			want: []requestRow{
				{"Lease requests per " + what, 3, 0.5},
				{"  Lease GETs per " + what, 0, 0},
				{"  Lease LISTs per " + what, 1, 0},
				{"  Lease PUTs per " + what, 0, 0},
				{"  Lease WATCHes per " + what, 2, 0},
				{"  Lease CREATEs per " + what, 0, 0.5},
			},
		},
		{
			name: "no hand-over, no rows",
			ours: reqcount.Counts{"leases get": 3},
			n:    0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaseRows(what, tc.ours, tc.base, tc.n); !slices.Equal(got, tc.want) {
				t.Errorf("leaseRows = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestLeaseSummary(t *testing.T) {
	for _, tc := range []struct {
		in   reqcount.Counts
		want string
	}{
		{reqcount.Counts{"leases update": 3, "leases get": 1, "events create": 1}, "1 GET, 3 PUT"},
		{reqcount.Counts{"leases watch": 1, "leases delete": 2}, "1 WATCH, 2 other"},
		{reqcount.Counts{"events create": 1}, "none"},
		{nil, "none"},
	} {
		if got := leaseSummary(tc.in); got != tc.want {
			t.Errorf("leaseSummary(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The side-by-side table shows the Lease requests per hand-over and judges
// issue 21's bound on GETs.
func TestPrintTableRequests(t *testing.T) {
	trial := func(gets, puts int) trialResult {
		return trialResult{took: make([]time.Duration, 10), requests: reqcount.Counts{"leases get": gets, "leases update": puts}}
	}
	for _, tc := range []struct {
		name string
		ours trialResult
		want []string
	}{
		{"fixed", trial(20, 30), []string{"Lease GETs per graceful hand-over 2.0 7.0 0.286", "MET Lease GETs per graceful hand-over 2.0 <= 4"}},
		{"a read loop", trial(178, 30), []string{"MISSED Lease GETs per graceful hand-over 17.8 <= 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printTable(&b, &results{graceful: tc.ours, crash: trial(0, 20)}, &results{graceful: trial(70, 25), crash: trial(140, 20)}, 10, time.Minute)
			got := strings.Join(strings.Fields(b.String()), " ") // columns as single spaces
			for _, want := range append(tc.want, "Lease GETs per crash failover 0.0 14.0 0.000") {
				if !strings.Contains(got, want) {
					t.Errorf("table lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}
