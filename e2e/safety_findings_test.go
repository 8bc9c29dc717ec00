package e2e

import "testing"

// judgeSafetyFindings fails t on the checker's findings of issue 11's
// rules: zombies, the margin, and /leader contradicting the file.
func judgeSafetyFindings(t *testing.T, rep chaosReport) {
	t.Helper()
	for _, f := range []struct {
		what  string
		found []string
	}{{"zombie", rep.Zombies}, {"margin", rep.MarginViolations}, {"/leader contradicts the file", rep.CrossViolations}} {
		for _, v := range f.found {
			t.Errorf("%s: %s", f.what, v)
		}
	}
}
