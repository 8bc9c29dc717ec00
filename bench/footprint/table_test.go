package main

import (
	"strings"
	"testing"
	"time"
)

// The goals read MET or MISSED from the figures, and the ratios are ours
// over client-go's.
func TestPrintTableJudgesTheGoals(t *testing.T) {
	base := figures{elector: "client-go", binMiB: 25.8, leaderRSS: 21.8, followerRSS: 21.9, startToLeading: 128 * time.Millisecond}
	tests := []struct {
		name string
		ours figures
		want []string
	}{
		{"all met", figures{elector: "leader-elector", binMiB: 16.8, leaderRSS: 19.2, followerRSS: 18.9, startToLeading: 150 * time.Millisecond}, []string{
			"MET    stripped static binary 16.8 MiB <= 30 MiB",
			"MET    idle RSS as leader 19.2 MiB <= 20 MiB",
			"MET    idle RSS as follower 18.9 MiB <= 20 MiB",
			"stripped static binary (MiB)                        16.8            25.8     0.65",
		}},
		{"memory missed", figures{elector: "leader-elector", binMiB: 30.1, leaderRSS: 23.8, followerRSS: 20.0}, []string{
			"MISSED stripped static binary 30.1 MiB <= 30 MiB",
			"MISSED idle RSS as leader 23.8 MiB <= 20 MiB",
			"MET    idle RSS as follower 20.0 MiB <= 20 MiB",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			printTable(&out, tt.ours, base, 3, 30*time.Second, time.Minute)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("no %q in:\n%s", w, out.String())
				}
			}
		})
	}
}
