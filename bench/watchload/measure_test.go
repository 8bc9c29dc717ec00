package main

import (
	"strings"
	"testing"
)

func TestPrintGoals(t *testing.T) {
	tests := []struct {
		rss, cpu float64
		want     []string
	}{
		{0.55, 0.31, []string{"MET    RSS 0.55x kubectl's <= 0.7x", "MET    CPU 0.31x kubectl's <= 0.5x"}},
		{0.71, 0.5, []string{"MISSED RSS 0.71x kubectl's <= 0.7x", "MET    CPU 0.50x kubectl's <= 0.5x"}},
		{1.02, 0.70, []string{"MISSED RSS 1.02x", "MISSED CPU 0.70x"}},
	}
	for _, tt := range tests {
		var out strings.Builder
		printGoals(&out, tt.rss, tt.cpu)
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("rss %.2f cpu %.2f: no %q in:\n%s", tt.rss, tt.cpu, w, out.String())
			}
		}
	}
}
