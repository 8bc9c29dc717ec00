package main

import (
	"log/slog"
	"os"

	"github.com/leader-elector/leader-elector/internal/tuning"
)

// What each mode asks of the Go runtime (GOGC and GOMAXPROCS override).
//
// The sidecar keeps Go's defaults: a GC percent of 50 or 25 saved under
// 0.4 MB of its RSS (bench/footprint), as the pages start-up touches stay
// resident either way (elect.Run hands them back once, after start-up), and
// would cost CPU on every burst.
//
// The dashboard keeps the state of every Lease and little else, so half the
// default GC headroom keeps its RSS well under kubectl's at 5,000 Leases
// (0.57x; 25 gave 0.54x but cost a tenth more CPU in collections). Its work
// is one stream of events, read, applied and shown in turn: a second P runs
// none of it in parallel, but makes every hand-off between its goroutines
// wake another thread, which at hundreds of events a second cost a third of
// its CPU. The terminal UI and its renderer fit in the one P as well.
// (bench/watchload; docs/performance.md has the runs.)
var (
	electRuntime = tuning.Mode{}
	watchRuntime = tuning.Mode{GCPercent: 50, Procs: 1}
)

// tuneRuntime sets the runtime's soft memory limit from the container's
// (unless GOMEMLIMIT is set), and the mode's GC percent and GOMAXPROCS
// (unless GOGC or GOMAXPROCS is).
func tuneRuntime(log *slog.Logger, mode tuning.Mode) {
	s := tuning.Plan(os.Getenv, os.ReadFile, mode)
	tuning.Apply(s)
	log.Debug("runtime settings", s.LogArgs()...)
}
