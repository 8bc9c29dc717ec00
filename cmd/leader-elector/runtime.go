package main

import (
	"log/slog"
	"os"

	"github.com/leader-elector/leader-elector/internal/memlimit"
)

// GC percents per mode (GOGC overrides either). The sidecar keeps Go's
// default: 50 or 25 saved under 0.4 MB of its RSS (bench/footprint), as the
// pages start-up touches stay resident either way (elect.Run hands them
// back once, after start-up), and would cost CPU on every burst. The
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
