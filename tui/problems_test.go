package tui

import (
	"strings"
	"testing"

	"github.com/leader-elector/leader-elector/watch"
)

// TestErrorMeaningComesFromFields: what an error does to the screen (a
// red link with the RoleBinding fix, or a note) follows the event's
// resource and connection state, whatever its message says. Namespaces and
// user names are free text: "releases" contains "lease", a user may be
// called "kubectl-dev".
func TestErrorMeaningComesFromFields(t *testing.T) {
	const leasesFix = "Fix: kubectl create rolebinding watch-leases-$USER"
	leasesDenied := func(ns, user string) watch.Event {
		return watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnForbidden,
			Resource: watch.ResourceLeases, Reason: watch.ReasonForbidden,
			Message: `forbidden: leases.coordination.k8s.io is forbidden: User "` + user + `" cannot watch resource "leases" in namespace "` + ns + `"; grant list and watch on leases.coordination.k8s.io`}
	}
	for _, tc := range []struct {
		name     string
		ns       string
		ev       watch.Event
		wantLink watch.ConnState
		want     []string // in the problem lines, in order
		notWant  string
	}{
		{"pods denied in releases is a note with the Pods fix", "releases", podsDenied("releases"),
			watch.ConnConnected, []string{`note: forbidden: cannot list pods in namespace "releases"`, "grant list and watch on pods"}, leasesFix},
		{"pods denied in default is a note with the Pods fix", "default", podsDenied("default"),
			watch.ConnConnected, []string{`note: forbidden: cannot list pods in namespace "default"`, "grant list and watch on pods"}, leasesFix},
		{"leases denied in releases shows the Leases fix", "releases", leasesDenied("releases", "dev"),
			watch.ConnForbidden, []string{`User "dev" cannot watch resource "leases"`, leasesFix, "-n releases"}, "note:"},
		{"leases denied to a user named kubectl-dev still shows the fix", "payments", leasesDenied("payments", "kubectl-dev"),
			watch.ConnForbidden, []string{`User "kubectl-dev"`, leasesFix, "-n payments"}, "note:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestModel(t, Options{Namespace: tc.ns}, 200, 24)
			send(m, events(added(held(tc.ns, "ctrl", "pod-a", 0, 0, 0)), watch.Event{Type: watch.EventSynced, Time: t0}), events(tc.ev))
			if m.links.conns[0].state != tc.wantLink {
				t.Errorf("link %q, want %q", m.links.conns[0].state, tc.wantLink)
			}
			shown := strings.Join(m.links.errLines(m.damage()), "\n")
			rest := shown
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("the problem lines lack %q (in order):\n%s", w, shown)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(shown, tc.notWant) {
				t.Errorf("the problem lines hold %q:\n%s", tc.notWant, shown)
			}
		})
	}
}
