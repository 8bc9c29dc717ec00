package main

import (
	"fmt"
	"io"
	"time"
)

// Issue 12's goals.
const (
	goalBinMiB = 30.0 // stripped static binary, dashboard inside
	goalRSSMiB = 20.0 // idle leader and idle follower
)

func printTable(w io.Writer, ours, base figures, trials int, settle, window time.Duration) {
	fmt.Fprintf(w, "\nfootprint bench: %d leader+follower pairs each, one control plane; memory %s after start, CPU over the next %s; medians\n\n", trials, settle, window)
	fmt.Fprintf(w, "%-40s %15s %15s %8s\n", "metric", ours.elector, base.elector, "ratio")
	row := func(name string, a, b float64, format string) {
		fmt.Fprintf(w, "%-40s %15s %15s %8s\n", name, fmt.Sprintf(format, a), fmt.Sprintf(format, b), ratio(a, b))
	}
	row("stripped static binary (MiB)", ours.binMiB, base.binMiB, "%.1f")
	row("idle RSS, leader (MiB)", ours.leaderRSS, base.leaderRSS, "%.1f")
	row("idle RSS, follower (MiB)", ours.followerRSS, base.followerRSS, "%.1f")
	row("start to leading, free Lease (s)", ours.startToLeading.Seconds(), base.startToLeading.Seconds(), "%.3f")
	row("idle CPU, leader (ms per minute)", ours.leaderCPU, base.leaderCPU, "%.0f")
	row("idle CPU, follower (ms per minute)", ours.followerCPU, base.followerCPU, "%.0f")

	fmt.Fprintf(w, "\ngoals (issue 12):\n")
	goal := func(met bool, format string, args ...any) {
		mark := "MET   "
		if !met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s "+format+"\n", append([]any{mark}, args...)...)
	}
	goal(ours.binMiB <= goalBinMiB, "stripped static binary %.1f MiB <= %.0f MiB", ours.binMiB, goalBinMiB)
	goal(ours.leaderRSS <= goalRSSMiB, "idle RSS as leader %.1f MiB <= %.0f MiB", ours.leaderRSS, goalRSSMiB)
	goal(ours.followerRSS <= goalRSSMiB, "idle RSS as follower %.1f MiB <= %.0f MiB", ours.followerRSS, goalRSSMiB)
}

func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "-"
		}
		return "inf"
	}
	return fmt.Sprintf("%.2f", a/b)
}
