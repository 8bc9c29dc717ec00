package tui

import (
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0.0s"},
		{0, "0.0s"},
		{1849 * time.Millisecond, "1.8s"},
		{9999 * time.Millisecond, "9.9s"},
		{10 * time.Second, "10s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{5*time.Minute + 2*time.Second, "5m2s"},
		{12*time.Minute + 30*time.Second, "12m"},
		{3*time.Hour + 4*time.Minute, "3h4m"},
		{3 * time.Hour, "3h"},
		{15*time.Hour + 4*time.Minute, "15h"},
		{2*24*time.Hour + 3*time.Hour, "2d3h"},
		{40 * 24 * time.Hour, "40d"},
	}
	for _, tt := range tests {
		if got := age(tt.d); got != tt.want {
			t.Errorf("age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		frac  float64
		width int
		want  string
	}{
		{1, 4, "████"},
		{0.5, 4, "██░░"},
		{0.01, 4, "█░░░"}, // alive: at least one cell
		{0, 4, "░░░░"},
		{1.7, 3, "███"},
		{-1, 3, "░░░"},
		{0.5, 0, ""},
	}
	for _, tt := range tests {
		if got := bar(tt.frac, tt.width); got != tt.want {
			t.Errorf("bar(%v, %d) = %q, want %q", tt.frac, tt.width, got, tt.want)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	now := t0
	tests := []struct {
		name     string
		renewals []time.Duration // before now
		width    int
		want     string
	}{
		{"nothing yet", nil, 6, "······"},
		{"every two seconds, newest on the right", []time.Duration{10 * time.Second, 8 * time.Second, 6 * time.Second, 4 * time.Second, 2 * time.Second, 0}, 6, "·•·•·•"},
		{"a renewal this second", []time.Duration{300 * time.Millisecond}, 4, "···•"},
		{"stalled: renewals fall off the left", []time.Duration{30 * time.Second, 20 * time.Second}, 5, "·····"},
		{"a renewal stamped after now counts as now", []time.Duration{-time.Second}, 3, "··•"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []time.Time
			for _, d := range tt.renewals {
				rs = append(rs, now.Add(-d))
			}
			if got := heartbeat(now, rs, tt.width); got != tt.want {
				t.Errorf("heartbeat = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"abc", 3, "abc"},
		{"节点节点", 5, "节点…"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := fit(tt.s, tt.w); got != tt.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
}
