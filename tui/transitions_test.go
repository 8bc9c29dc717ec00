package tui

import (
	"testing"
	"time"
)

func TestTransitionLine(t *testing.T) {
	tests := []struct {
		name  string
		tr    transition
		width int
		want  string
	}{
		{"gap known", transition{at: t0, key: "default/a", from: "pod-a", to: "pod-b", gap: 1200 * time.Millisecond, hasGap: true}, 80,
			"  13:00:00  default/a  pod-a -> pod-b  gap 1.2s"},
		{"a gap of exactly zero is still a gap", transition{at: t0, key: "default/a", from: "pod-a", to: "pod-b", hasGap: true}, 80,
			"  13:00:00  default/a  pod-a -> pod-b  gap 0.0s"},
		{"no previous holder seen: no gap", transition{at: t0, key: "default/a", to: "pod-b"}, 80,
			"  13:00:00  default/a  (none) -> pod-b"},
		{"released", transition{at: t0, key: "default/a", from: "pod-a", released: true}, 80,
			"  13:00:00  default/a  pod-a released"},
		{"narrow: holders cut in the middle, the gap kept", transition{at: t0, key: "default/a", from: "controller-7d9f8b6c4-x2x9k", to: "controller-7d9f8b6c4-p8q2m", gap: 3 * time.Second, hasGap: true}, 60,
			"  13:00:00  default/a  contr…x2x9k -> contr…-p8q2m  gap 3.0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestModel(t, Options{}, tt.width, 24)
			if got := m.transitionLine(&tt.tr, 9, tt.width); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
