package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

var _ rest.WarningHandler = (*Warnings)(nil)

func TestWarnings(t *testing.T) {
	const deprecated = "coordination.k8s.io/v1beta1 LeaseCandidate is deprecated in v1.36+"
	tests := []struct {
		name  string
		level slog.Level
		feed  []string
		want  []string // substrings, one per expected line, in order
	}{{
		name:  "debug: each distinct warning once",
		level: slog.LevelDebug,
		feed:  []string{deprecated, deprecated, "other", deprecated, "other"},
		want:  []string{"level=DEBUG", "level=DEBUG"},
	}, {
		name:  "info: nothing",
		level: slog.LevelInfo,
		feed:  []string{deprecated, deprecated},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWarnings(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})))
			var wg sync.WaitGroup
			for _, text := range tt.feed {
				wg.Go(func() { w.HandleWarningHeader(299, "kube-apiserver", text) })
			}
			wg.Wait()
			out := strings.TrimSpace(buf.String())
			var lines []string
			if out != "" {
				lines = strings.Split(out, "\n")
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tt.want), out)
			}
			for i, l := range lines {
				if !strings.Contains(l, tt.want[i]) {
					t.Errorf("line %d %q lacks %q", i, l, tt.want[i])
				}
			}
			if tt.level == slog.LevelDebug && strings.Count(out, "deprecated") != 1 {
				t.Errorf("the deprecation is logged %d times, want once:\n%s", strings.Count(out, "deprecated"), out)
			}
		})
	}
}
