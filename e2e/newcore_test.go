package e2e

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Issue 11 rewrites elect's core. Some tests here encode guarantees that
// today's core is known to break (a zombie after a foreign write, no margin
// on SIGTERM, a deleted Lease re-created at once, no release when SIGTERM
// lands during a takeover, lost races logged at ERROR). They run when the
// binary under test is the new core, which is recognised by its
// --release-delay flag, or when LEADER_ELECTOR_NEW_CORE=1 asks to run them
// against any binary (to see today's defects fail). Otherwise they skip,
// saying so.
var (
	newCoreOnce sync.Once
	newCoreYes  bool
)

// newCore reports whether the new core's guarantees are to be asserted.
func newCore() bool {
	newCoreOnce.Do(func() {
		if os.Getenv("LEADER_ELECTOR_NEW_CORE") == "1" {
			newCoreYes = true
			return
		}
		out, _ := exec.Command(binPath, "elect", "--help").CombinedOutput()
		newCoreYes = strings.Contains(string(out), "--release-delay")
	})
	return newCoreYes
}

// requireNewCore skips t, loudly, unless newCore.
func requireNewCore(t *testing.T) {
	t.Helper()
	if !newCore() {
		t.Skip("asserts a guarantee of issue 11's new core, which today's binary lacks (no --release-delay); set LEADER_ELECTOR_NEW_CORE=1 to run it and see the defect")
	}
}

// judgeNewCoreFindings fails t on findings of the rules today's core is
// known to break, or, against today's binary, logs them as the expected
// defects they are.
func judgeNewCoreFindings(t *testing.T, rep chaosReport) {
	t.Helper()
	for _, f := range []struct {
		what  string
		found []string
	}{{"zombie", rep.Zombies}, {"margin", rep.MarginViolations}, {"/leader contradicts the file", rep.CrossViolations}} {
		for i, v := range f.found {
			switch {
			case newCore():
				t.Errorf("%s: %s", f.what, v)
			case i < 3:
				t.Logf("expected defect of today's core (issue 11), not failing (set LEADER_ELECTOR_NEW_CORE=1 to fail): %s: %s", f.what, v)
			}
		}
	}
}
