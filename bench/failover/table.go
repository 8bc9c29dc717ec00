package main

import (
	"fmt"
	"io"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
)

// results are one elector's figures.
type results struct {
	graceful, crash trialResult
	steady          []steadyResult
	binMiB          float64
}

func secs(d time.Duration) float64 { return d.Seconds() }

func printTable(w io.Writer, ours, base *results, trials int, window time.Duration) {
	fmt.Fprintf(w, "\nfailover bench: %d trials each, steady window %s, defaults 15s/10s/2s; ours with --release-delay 0, as client-go's ReleaseOnCancel releases at once\n", trials, window)
	fmt.Fprintf(w, "Lease requests per hand-over: every replica's, from the signal until %s (two retry periods) after the new leader's status file\n\n", countSettle)
	fmt.Fprintf(w, "%-52s %12s %12s %8s\n", "metric", "ours", "baseline", "ratio")
	row := func(name string, a, b float64, format string) {
		fmt.Fprintf(w, "%-52s %12s %12s %8s\n", name, fmt.Sprintf(format, a), fmt.Sprintf(format, b), benchkit.Ratio(a, b))
	}
	for _, kind := range []struct {
		name string
		a, b []time.Duration
	}{{"graceful hand-over", ours.graceful.took, base.graceful.took}, {"crash failover", ours.crash.took, base.crash.took}} {
		for _, p := range []struct {
			name string
			p    float64
		}{{"p50", 50}, {"p95", 95}, {"max", 100}} {
			row(fmt.Sprintf("%s %s (s)", kind.name, p.name), secs(benchkit.Percentile(kind.a, p.p)), secs(benchkit.Percentile(kind.b, p.p)), "%.3f")
		}
	}
	row("moments with two status files (graceful+crash)", float64(ours.graceful.overlaps+ours.crash.overlaps), float64(base.graceful.overlaps+base.crash.overlaps), "%.0f")
	for _, kind := range []struct {
		name string
		a, b trialResult
	}{{"graceful hand-over", ours.graceful, base.graceful}, {"crash failover", ours.crash, base.crash}} {
		for _, r := range leaseRows(kind.name, kind.a.requests, kind.b.requests, min(len(kind.a.took), len(kind.b.took))) {
			row(r.name, r.ours, r.base, "%.1f")
		}
	}
	for i, s := range ours.steady {
		bs := base.steady[i]
		n := s.replicas
		row(fmt.Sprintf("requests/min, all %d replicas", n), s.total, bs.total, "%.1f")
		row(fmt.Sprintf("requests/min, leader (%d replicas)", n), benchkit.Sum(s.leader), benchkit.Sum(bs.leader), "%.1f")
		for _, k := range benchkit.Keys(s.leader, bs.leader) {
			row(fmt.Sprintf("  leader %s", k), s.leader[k], bs.leader[k], "%.1f")
		}
		row(fmt.Sprintf("requests/min, per follower, mean (%d replicas)", n), benchkit.Sum(s.follower), benchkit.Sum(bs.follower), "%.2f")
		row(fmt.Sprintf("requests/min, busiest follower (%d replicas)", n), s.followerMax, bs.followerMax, "%.2f")
		for _, k := range benchkit.Keys(s.follower, bs.follower) {
			row(fmt.Sprintf("  follower %s", k), s.follower[k], bs.follower[k], "%.2f")
		}
	}
	if len(ours.steady) > 0 {
		s, bs := ours.steady[0], base.steady[0]
		row("idle follower RSS (MiB)", s.idleRSS, bs.idleRSS, "%.1f")
		row("idle follower CPU (s per minute)", s.idleCPU, bs.idleCPU, "%.3f")
	}
	row("binary size (MiB, -ldflags=-s -w)", ours.binMiB, base.binMiB, "%.1f")

	fmt.Fprintf(w, "\neach follower's requests/min:\n")
	for i, s := range ours.steady {
		fmt.Fprintf(w, "  %2d replicas  ours     %s\n", s.replicas, benchkit.Totals(s.followerTotals))
		fmt.Fprintf(w, "  %2d replicas  baseline %s\n", s.replicas, benchkit.Totals(base.steady[i].followerTotals))
	}

	fmt.Fprintf(w, "\ngoals (ours):\n")
	check := func(ok bool, what string) {
		mark := "MET   "
		if !ok {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, what)
	}
	g95, c95 := benchkit.Percentile(ours.graceful.took, 95), benchkit.Percentile(ours.crash.took, 95)
	check(g95 <= 300*time.Millisecond, fmt.Sprintf("graceful p95 %.3fs <= 0.3s", secs(g95)))
	check(c95 <= 15300*time.Millisecond, fmt.Sprintf("crash p95 %.3fs <= LeaseDuration + 0.3s = 15.3s", secs(c95)))
	if n := len(ours.graceful.took); n > 0 {
		gets := float64(ours.graceful.requests["leases get"]) / float64(n)
		check(gets <= maxGracefulGETs, fmt.Sprintf("Lease GETs per graceful hand-over %.1f <= %d", gets, maxGracefulGETs))
	}
	for _, s := range ours.steady {
		polls := s.follower["leases get"] + s.follower["leases list"]
		check(polls == 0, fmt.Sprintf("%d replicas: followers' Lease gets+lists per minute %.2f == 0", s.replicas, polls))
		renewals := s.leader["leases update"]
		check(s.total <= renewals+5, fmt.Sprintf("%d replicas: %.1f requests/min <= leader's renewals %.1f + 5", s.replicas, s.total, renewals))
	}
	check(ours.graceful.overlaps+ours.crash.overlaps == 0, "never two status files at once")
}

// latencyHeader and latencyRow print a table of hand-over times per mode:
// min, p50, p95, max and the polls that saw two status files.
func latencyHeader(w io.Writer) {
	fmt.Fprintf(w, "%-40s %8s %8s %8s %8s %9s\n", "mode", "min (s)", "p50 (s)", "p95 (s)", "max (s)", "overlaps")
}

func latencyRow(w io.Writer, desc string, hs []time.Duration, overlaps int) {
	fmt.Fprintf(w, "%-40s %8.3f %8.3f %8.3f %8.3f %9d\n", desc,
		secs(benchkit.Percentile(hs, 0.0001)), secs(benchkit.Percentile(hs, 50)), secs(benchkit.Percentile(hs, 95)), secs(benchkit.Percentile(hs, 100)), overlaps)
}

// printRolling prints the rolling-update hand-overs of every mode and
// issue 11's goals for them.
func printRolling(w io.Writer, rs []rollingResult, n int) {
	fmt.Fprintf(w, "\nrolling update: 3 replicas (defaults 15s/10s/2s), SIGTERM to the leader, a new replica in its place, the next SIGTERM 1s later; %d hand-overs each\n", n)
	fmt.Fprintf(w, "hand-over = the old leader's status file gone -> the new leader's there\n\n")
	latencyHeader(w)
	for _, r := range rs {
		if r.mode.na != "" {
			fmt.Fprintf(w, "%-40s n/a (%s)\n", r.mode.desc, r.mode.na)
			continue
		}
		latencyRow(w, r.mode.desc, r.handovers, r.overlaps)
	}
	fmt.Fprintf(w, "\nLease requests per hand-over in this rhythm: every replica's, from one SIGTERM to the next (the replacement's start included)\n\n")
	fmt.Fprintf(w, "%-40s %8s", "mode", "all")
	for _, v := range leaseVerbs {
		fmt.Fprintf(w, " %8s", v.name)
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		n := len(r.handovers)
		if r.mode.na != "" || n == 0 {
			continue
		}
		fmt.Fprintf(w, "%-40s %8.1f", r.mode.desc, float64(leases(r.requests))/float64(n))
		for _, v := range leaseVerbs {
			fmt.Fprintf(w, " %8.1f", float64(r.requests[v.key])/float64(n))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ngoals (rolling update):\n")
	for _, r := range rs {
		switch {
		case r.mode.goal == nil:
		case r.mode.na != "":
			fmt.Fprintf(w, "  n/a    %s: %s\n", r.mode.desc, r.mode.na)
		default:
			line, ok := r.mode.goal(r.handovers)
			mark := "MET   "
			if !ok {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "  %s %s: %s\n", mark, r.mode.desc, line)
		}
	}
	for _, r := range rs {
		if r.overlaps > 0 {
			fmt.Fprintf(w, "  MISSED %s: %d polls saw two status files at once\n", r.mode.desc, r.overlaps)
		}
	}
}
