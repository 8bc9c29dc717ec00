package e2e

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// How the chaos checker sees an exec-mode replica's child.

// chaosChildScript is the exec-mode command: it publishes its pid for the
// checker, then becomes a sleep that SIGTERM ends at once. The marker lets
// the checker tell it from an unrelated process that reused the pid.
const chaosChildMarker = "86399"

var chaosChildScript = `echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep ` + chaosChildMarker

// childRunning reads the pid in pidFile and reports whether that process
// runs: it exists, is not a zombie waiting for its parent to reap it, and
// is our child (its command line holds the marker).
func childRunning(pidFile string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !procstat.Alive(pid) {
		return pid, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), chaosChildMarker) {
		return pid, false
	}
	return pid, true
}

// errNoAnswer stands for a /leader that did not answer, in synthetic tests.
var errNoAnswer = errors.New("connection refused")
