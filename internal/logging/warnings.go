package logging

import (
	"context"
	"log/slog"
	"sync"
)

// Warnings turns the API server's warning headers into debug lines of
// logger, one per distinct text. A warning such as "coordination.k8s.io/v1beta1
// LeaseCandidate is deprecated" comes back on every list and watch, and the
// user can do nothing about it (the beta is the newest API there is), so it
// must not reach watch's output or repeat in the log; client-go's default
// writes each one through klog at warning level.
type Warnings struct {
	logger *slog.Logger
	mu     sync.Mutex
	seen   map[string]bool
}

// NewWarnings returns a handler logging to logger; set it as a
// rest.Config's WarningHandler.
func NewWarnings(logger *slog.Logger) *Warnings {
	return &Warnings{logger: logger, seen: map[string]bool{}}
}

// HandleWarningHeader implements client-go's rest.WarningHandler. code is
// always 299 (the only warn-code the API server sends); agent names the
// server.
func (w *Warnings) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return // client-go ignores the rest too
	}
	w.mu.Lock()
	first := !w.seen[text]
	w.seen[text] = true
	w.mu.Unlock()
	if first {
		w.logger.Log(context.Background(), slog.LevelDebug, "API server warning (shown once)", "warning", text, "agent", agent)
	}
}
