package main

import (
	"log/slog"
	"os"

	"github.com/leader-elector/leader-elector/internal/memlimit"
)

// GC percents per mode (GOGC overrides either). The sidecar keeps Go's
// default: its idle heap is under the runtime's 4 MB minimum goal, so a
// lower percent would save nothing and cost CPU on every burst. The
// dashboard keeps the state of every Lease and little else, so a quarter of
// the default headroom costs little CPU and keeps its RSS well under
// kubectl's at 5,000 Leases (bench/watchload).
const (
	electGCPercent = 100
	watchGCPercent = 25
)

// tuneRuntime sets the runtime's soft memory limit from the container's
// (unless GOMEMLIMIT is set) and the mode's GC percent (unless GOGC is).
func tuneRuntime(log *slog.Logger, gcPercent int) {
	s := memlimit.Plan(os.Getenv, os.ReadFile, gcPercent)
	memlimit.Apply(s)
	log.Debug("runtime memory settings", s.LogArgs()...)
}
