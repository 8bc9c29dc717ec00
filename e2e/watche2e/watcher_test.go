package watche2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/watch"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// base is a cluster-clock instant in the past all Lease times are set from,
// so the gaps the test writes are exact.
var base = time.Now().UTC().Truncate(time.Second)

func mt(d time.Duration) *metav1.MicroTime { return &metav1.MicroTime{Time: base.Add(d)} }

func ptr[T any](v T) *T { return &v }

// setLease creates or updates a Lease's spec (as an elector would).
func setLease(t *testing.T, cs kubernetes.Interface, ns, name string, spec coordinationv1.LeaseSpec) {
	t.Helper()
	ctx := context.Background()
	leases := cs.CoordinationV1().Leases(ns)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating lease %s: %v", name, err)
		}
		return
	}
	l.Spec = spec
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("updating lease %s: %v", name, err)
	}
}

func held(holder string, acquire, renew time.Duration, dur int32) coordinationv1.LeaseSpec {
	return coordinationv1.LeaseSpec{
		HolderIdentity: ptr(holder), AcquireTime: mt(acquire), RenewTime: mt(renew), LeaseDurationSeconds: ptr(dur),
	}
}

// start runs a Watcher for the test and returns its events and Run's result.
func start(t *testing.T, cfg *rest.Config, opts watch.Options) (<-chan watch.Event, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := watch.New(watchAPI(t, cfg, opts.Namespace), opts)
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range w.Events() {
		}
	})
	return w.Events(), errc
}

// next returns the next event or fails after timeout.
func next(t *testing.T, events <-chan watch.Event, timeout time.Duration) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
	}
	return watch.Event{}
}

// expect reads events and compares their summaries with want, in order.
func expect(t *testing.T, events <-chan watch.Event, want ...string) []watch.Event {
	t.Helper()
	var got []watch.Event
	for i, w := range want {
		ev := next(t, events, 15*time.Second)
		got = append(got, ev)
		if s := summary(ev); s != w {
			t.Fatalf("event %d = %q, want %q", i, s, w)
		}
	}
	return got
}

func summary(ev watch.Event) string {
	s := string(ev.Type)
	if ev.Lease.Name != "" {
		s += fmt.Sprintf(" %s %s %s", ev.Lease.Name, ev.Lease.Holder, ev.Lease.Status)
	}
	switch ev.Type {
	case watch.EventTransition:
		s += fmt.Sprintf(" %s->%s", ev.From, ev.To)
		if ev.GapFrom != "" {
			s += fmt.Sprintf(" gap=%s/%s", ev.Gap, ev.GapFrom)
		}
	case watch.EventReleased:
		s += " from=" + ev.From
	}
	return s
}

// The whole life of Leases on a real API server: initial states, renewal,
// expiry by the timer, takeover and release with their gaps, deletion.
func TestWatchLifecycle(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	setLease(t, admin, ns, "lock", held("pod-a", 0, 0, 3600))
	setLease(t, admin, ns, "stale", held("pod-old", -time.Hour, -time.Hour, 10)) // stale by the cluster's clock

	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns})
	// The initial states come in namespace/name order.
	expect(t, events,
		"added lock pod-a held",
		"added stale pod-old expired",
		"synced",
	)
	setLease(t, admin, ns, "lock", held("pod-a", 0, 2*time.Second, 3600))
	evs := expect(t, events, "renewed lock pod-a held")
	if got := evs[0].Lease.RenewInterval; got != 2*time.Second {
		t.Errorf("renew interval %s, want 2s", got)
	}

	// An expiry comes from the timer, with no update to trigger it.
	renewed := time.Now()
	setLease(t, admin, ns, "short", coordinationv1.LeaseSpec{
		HolderIdentity: ptr("pod-s"), AcquireTime: &metav1.MicroTime{Time: renewed},
		RenewTime: &metav1.MicroTime{Time: renewed}, LeaseDurationSeconds: ptr(int32(2)),
	})
	evs = expect(t, events, "added short pod-s held", "expired short pod-s expired")
	// Same machine, so no skew: expiry is 2s after the renewal we wrote
	// (microseconds in the Lease), never before; late only by scheduling.
	if after := evs[1].Time.Sub(renewed); after < 2*time.Second-time.Millisecond || after > 5*time.Second {
		t.Errorf("expired %s after the renewal, want the 2s duration", after)
	}

	// Takeover without release: gap from pod-a's last renewal (2s) to
	// pod-b's acquisition (3.5s).
	setLease(t, admin, ns, "lock", held("pod-b", 3500*time.Millisecond, 3500*time.Millisecond, 3600))
	// Release, then a new holder 250ms later: gap from the release.
	setLease(t, admin, ns, "lock", coordinationv1.LeaseSpec{
		HolderIdentity: ptr(""), AcquireTime: mt(5 * time.Second), RenewTime: mt(5 * time.Second), LeaseDurationSeconds: ptr(int32(1)),
	})
	setLease(t, admin, ns, "lock", held("pod-c", 5250*time.Millisecond, 5250*time.Millisecond, 3600))
	if err := admin.CoordinationV1().Leases(ns).Delete(context.Background(), "lock", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, events,
		"transition lock pod-b held pod-a->pod-b gap=1.5s/renewal",
		"released lock  released from=pod-b",
		"transition lock pod-c held pod-b->pod-c gap=250ms/release",
		"deleted lock pod-c held",
	)
	select {
	case ev := <-events:
		t.Errorf("unexpected event %q", summary(ev))
	case <-time.After(300 * time.Millisecond):
	}
}

// The JSON writer on a live watch: lines parse back, with the documented
// fields, and a hostile holder cannot reach the terminal raw.
func TestWatchJSONLines(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	setLease(t, admin, ns, "a", held("pod-a", 0, 0, 3600))
	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns})

	pr, pw := io.Pipe()
	go func() { _ = watch.WriteJSONLines(context.Background(), pw, events) }()
	lines := bufio.NewScanner(pr)
	read := func() (string, map[string]any) {
		t.Helper()
		got := make(chan bool)
		go func() { got <- lines.Scan() }()
		select {
		case ok := <-got:
			if !ok {
				t.Fatalf("output ended: %v", lines.Err())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no line within 15s")
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		return lines.Text(), m
	}
	_, m := read()
	lease, _ := m["lease"].(map[string]any)
	if m["type"] != "added" || lease["name"] != "a" || lease["holder"] != "pod-a" || lease["status"] != "held" || lease["leaseDurationSeconds"] != 3600.0 {
		t.Errorf("first line %v", m)
	}
	if _, m = read(); m["type"] != "synced" {
		t.Errorf("second line %v, want synced", m)
	}
	hostile := "\x1b[2J\x1b]0;pwned\a"
	setLease(t, admin, ns, "a", held(hostile, time.Second, time.Second, 3600))
	raw, m := read()
	if m["type"] != "transition" || m["from"] != "pod-a" || m["to"] != hostile || m["gapSeconds"] != 1.0 || m["gapFrom"] != "renewal" {
		t.Errorf("transition line %v", m)
	}
	t.Logf("transition line: %s", raw)
	if strings.ContainsAny(raw, "\x1b\a") {
		t.Errorf("raw escape bytes in the output line %q", raw)
	}
	if !strings.Contains(raw, `\u001b[2J`) {
		t.Errorf("line %q lacks the escaped sequence", raw)
	}
	_ = pw.Close()
}

// grant gives user the verbs on resource (group "" or coordination) in ns.
func grant(t *testing.T, ns, user, group, resource string, verbs ...string) {
	t.Helper()
	admin := cp.Client(t, cp.Admin)
	ctx := context.Background()
	name := user + "-" + resource
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The authorizer learns of the binding through an informer: wait until
	// it allows the first verb, or a loaded machine sees a denial at start
	// that the test did not mean.
	deadline := time.Now().Add(30 * time.Second)
	for {
		review, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Group: group, Resource: resource, Verb: verbs[0],
			}},
		}, metav1.CreateOptions{})
		if err == nil && review.Status.Allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the binding of %s to %s %s in %s never took effect (%v)", user, verbs[0], resource, ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RBAC denial at start is a prompt configuration error naming the verbs.
func TestWatchForbiddenIsAConfigError(t *testing.T) {
	ns := cp.Namespace(t)
	grant(t, ns, "lister", "coordination.k8s.io", "leases", "list")
	tests := []struct {
		user      string
		namespace string
		want      string
	}{
		{"nobody", ns, "may not list or watch leases.coordination.k8s.io in namespace"},
		{"lister", ns, "may not watch leases.coordination.k8s.io in namespace"},
		{"lister", "", "may not list or watch leases.coordination.k8s.io in all namespaces"},
	}
	for _, tc := range tests {
		t.Run(tc.user+"/"+tc.namespace, func(t *testing.T) {
			_, errc := start(t, cp.UserConfig(tc.user), watch.Options{Namespace: tc.namespace})
			select {
			case err := <-errc:
				var coded interface{ ExitCode() int }
				if !errors.As(err, &coded) || coded.ExitCode() != 2 {
					t.Fatalf("Run = %v, want an exit-2 config error", err)
				}
				if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q, want one line containing %q", err, tc.want)
				}
				var f *watch.Failure
				if !errors.As(err, &f) || f.Resource != watch.ResourceLeases || f.Reason != watch.ReasonForbidden {
					t.Errorf("Run = %#v, want a Failure forbidden on leases", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run still running after 10s: it hangs instead of failing")
			}
		})
	}
}

// Pods forbidden: one error event, then the Leases go on.
func TestWatchPodsForbidden(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	grant(t, ns, "leases-only", "coordination.k8s.io", "leases", "list", "watch")
	setLease(t, admin, ns, "a", held("pod-a", 0, 0, 3600))
	cfg := cp.UserConfig("leases-only")
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := start(t, cfg, watch.Options{Namespace: ns, Metadata: meta})
	var errorsSeen []watch.Event
	var synced bool
	for !synced {
		ev := next(t, events, 15*time.Second)
		switch ev.Type {
		case watch.EventError:
			errorsSeen = append(errorsSeen, ev)
		case watch.EventSynced:
			synced = true
		}
	}
	setLease(t, admin, ns, "a", held("pod-a", 0, time.Second, 3600))
	for {
		ev := next(t, events, 15*time.Second)
		if ev.Type == watch.EventError {
			errorsSeen = append(errorsSeen, ev)
			continue
		}
		if summary(ev) != "renewed a pod-a held" {
			t.Fatalf("event %q, want the renewal", summary(ev))
		}
		if ev.Lease.Orphan {
			t.Error("orphan judged without Pods")
		}
		break
	}
	// Give a retrying Pod informer time to say it twice.
	setLease(t, admin, ns, "a", held("pod-a", 0, 2*time.Second, 3600))
	for ev := next(t, events, 15*time.Second); ev.Type != watch.EventRenewed; ev = next(t, events, 15*time.Second) {
		errorsSeen = append(errorsSeen, ev)
	}
	if len(errorsSeen) != 1 {
		t.Fatalf("%d error events, want exactly one: %+v", len(errorsSeen), errorsSeen)
	}
	if e := errorsSeen[0]; e.Connection != watch.ConnForbidden || e.Resource != watch.ResourcePods || e.Reason != watch.ReasonForbidden ||
		!strings.Contains(e.Message, "cannot list pods") {
		t.Errorf("error event %+v, want forbidden on pods, naming them", e)
	}
}

// Orphans: a held Lease whose holder names no Pod; Pod names only.
func TestWatchOrphans(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	if _, err := admin.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-here"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setLease(t, admin, ns, "alive", held("pod-here", 0, 0, 3600))
	setLease(t, admin, ns, "gone", held("pod-gone", 0, 0, 3600))
	setLease(t, admin, ns, "host-id", held("node-1_6d1c8a4e-uuid", 0, 0, 3600))
	meta, err := metadata.NewForConfig(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns, Metadata: meta})
	orphan := map[string]bool{}
	deadline := time.After(15 * time.Second)
	for !orphan["gone"] {
		select {
		case ev := <-events:
			orphan[ev.Lease.Name] = ev.Lease.Orphan
		case <-deadline:
			t.Fatalf("no orphan verdict for the Lease held by a missing Pod: %v", orphan)
		}
	}
	if orphan["alive"] || orphan["host-id"] {
		t.Errorf("orphans %v: only gone should be", orphan)
	}
	// The Pod going away makes its Lease an orphan.
	if err := admin.CoreV1().Pods(ns).Delete(context.Background(), "pod-here", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next(t, events, 15*time.Second)
		if ev.Type == watch.EventOrphan && ev.Lease.Name == "alive" && ev.Lease.Orphan {
			break
		}
	}
}

// LeaseCandidates appear on their Lease when the API serves them.
func TestWatchLeaseCandidates(t *testing.T) {
	if !cp.ServesLeaseCandidates(t) {
		t.Skipf("kube-apiserver %s serves no coordination.k8s.io/v1beta1 LeaseCandidates (they are served from 1.33): nothing for watch to show", cp.Version)
	}
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	setLease(t, admin, ns, "ctl", held("pod-a", 0, 0, 3600))
	if _, err := admin.CoordinationV1beta1().LeaseCandidates(ns).Create(context.Background(), &coordinationv1beta1.LeaseCandidate{
		ObjectMeta: metav1.ObjectMeta{Name: "ctl-pod-b"},
		Spec: coordinationv1beta1.LeaseCandidateSpec{
			LeaseName: "ctl", BinaryVersion: "1.37.2", EmulationVersion: "1.37.0",
			Strategy: coordinationv1.OldestEmulationVersion, RenewTime: mt(0),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns})
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if c := ev.Lease.Candidates; ev.Lease.Name == "ctl" && len(c) == 1 {
				if c[0].Name != "ctl-pod-b" || c[0].BinaryVersion != "1.37.2" || c[0].Strategy != string(coordinationv1.OldestEmulationVersion) {
					t.Errorf("candidate %+v", c[0])
				}
				return
			}
		case <-deadline:
			t.Fatal("the LeaseCandidate never showed on its Lease")
		}
	}
}

// An unreachable API server at start: error events while retrying, then an
// error (exit 1, not a config error) after the connect timeout.
func TestWatchConnectTimeout(t *testing.T) {
	cfg := rest.CopyConfig(cp.Admin)
	cfg.Host = "https://127.0.0.1:1" // nothing listens on port 1
	events, errc := start(t, cfg, watch.Options{ConnectTimeout: 2 * time.Second})
	began := time.Now()
	select {
	case err := <-errc:
		var coded interface{ ExitCode() int }
		if err == nil || errors.As(err, &coded) {
			t.Fatalf("Run = %v, want a plain (exit 1) error", err)
		}
		if !strings.Contains(err.Error(), "connect timeout") {
			t.Errorf("error %q does not name the timeout", err)
		}
		var f *watch.Failure
		if !errors.As(err, &f) || f.Resource != watch.ResourceLeases || f.Reason != watch.ReasonUnreachable {
			t.Errorf("Run = %#v, want a Failure: leases unreachable", err)
		}
		if took := time.Since(began); took < 1500*time.Millisecond {
			t.Errorf("gave up after %s, before the 2s timeout", took)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run still retrying 13s past the timeout")
	}
	ev := next(t, events, time.Second)
	if ev.Type != watch.EventError || ev.Connection != watch.ConnLost || ev.Resource != watch.ResourceLeases || ev.Reason != watch.ReasonUnreachable {
		t.Errorf("first event %+v, want a lost-connection error: leases unreachable", ev)
	}
}

// A restarted API server: an error event, then connected, then events flow.
func TestWatchSurvivesAPIServerRestart(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	setLease(t, admin, ns, "a", held("pod-a", 0, 0, 3600))
	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns})
	expect(t, events, "added a pod-a held", "synced")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cp.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	setLease(t, admin, ns, "a", held("pod-a", 0, time.Second, 3600))
	var seen []string
	for {
		ev := next(t, events, 90*time.Second)
		seen = append(seen, fmt.Sprintf("%s/%s", ev.Type, ev.Connection))
		if ev.Type == watch.EventRenewed {
			break
		}
	}
	// The reflector's watch drops with the server; its next call fails and
	// the recovery follows before the renewal is seen.
	joined := strings.Join(seen, " ")
	if !strings.HasPrefix(joined, "error/lost") || !strings.Contains(joined, "connected/connected renewed/") {
		t.Errorf("events across the restart %s, want error/lost ... connected/connected renewed/", joined)
	}
	t.Logf("events across the restart: %s", joined)
}

// A receiver that stops reading never blocks the informer: renewals of a
// Lease coalesce while it is behind, nothing else is lost, and the latest
// state arrives once it reads again.
func TestWatchSlowReceiverGetsTheLatestState(t *testing.T) {
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	setLease(t, admin, ns, "busy", held("pod-a", 0, 0, 3600))
	events, _ := start(t, cp.Admin, watch.Options{Namespace: ns, Buffer: 2})
	expect(t, events, "added busy pod-a held", "synced")

	const renewals = 150
	for i := 1; i <= renewals; i++ { // nobody reads meanwhile
		setLease(t, admin, ns, "busy", held("pod-a", 0, time.Duration(i)*time.Millisecond, 3600))
	}
	setLease(t, admin, ns, "busy", held("pod-b", time.Second, time.Second, 3600))
	setLease(t, admin, ns, "other", held("pod-x", 0, 0, 3600))

	var got []watch.Event
	for len(got) == 0 || got[len(got)-1].Lease.Name != "other" {
		got = append(got, next(t, events, 15*time.Second))
	}
	renewed, merged := 0, 0
	var last watch.Event
	for _, ev := range got {
		switch ev.Type {
		case watch.EventRenewed:
			renewed++
			merged += ev.Coalesced
			last = ev
		case watch.EventTransition:
			if renewed == 0 || last.Lease.RenewTime.Sub(base) != renewals*time.Millisecond {
				t.Fatalf("transition before the last renewal was delivered (last renewed %s)", last.Lease.RenewTime.Sub(base))
			}
		}
	}
	if renewed+merged != renewals {
		t.Errorf("%d renewed events carrying %d merged ones, want %d renewals in all", renewed, merged, renewals)
	}
	if merged == 0 {
		t.Errorf("no renewal was coalesced with a 2-slot buffer and no reader: the informer waited for us")
	}
	if s := summary(got[len(got)-2]); s != "transition busy pod-b held pod-a->pod-b gap=850ms/renewal" {
		t.Errorf("second-last event %q, want the transition", s)
	}
	t.Logf("%d renewals arrived as %d events", renewals, renewed)
}

// A Fleet's context that stops at start says, on its stopped event, what
// failed and why, as the Watcher's own error events do: a user without
// rights is forbidden the Leases, a dead address is unreachable. The live
// context goes on.
func TestFleetStoppedContextSaysWhy(t *testing.T) {
	ns := cp.Namespace(t)
	dead := rest.CopyConfig(cp.Admin)
	dead.Host = "https://127.0.0.1:1" // nothing listens on port 1
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fleet := watch.NewFleet(
		watch.New(watchAPI(t, cp.Admin, ns), watch.Options{Context: "live", Namespace: ns}),
		watch.New(watchAPI(t, cp.UserConfig("nobody"), ns), watch.Options{Context: "nobody", Namespace: ns}),
		watch.New(watchAPI(t, dead, ns), watch.Options{Context: "dead", Namespace: ns, ConnectTimeout: 2 * time.Second}))
	runErr := make(chan error, 1)
	go func() { runErr <- fleet.Run(ctx) }()
	want := map[string]watch.Event{
		"nobody": {Resource: watch.ResourceLeases, Reason: watch.ReasonForbidden},
		"dead":   {Resource: watch.ResourceLeases, Reason: watch.ReasonUnreachable},
	}
	liveSynced := false
	for len(want) > 0 || !liveSynced {
		ev := next(t, fleet.Events(), 15*time.Second)
		if ev.Type == watch.EventSynced && ev.Context == "live" {
			liveSynced = true
		}
		if ev.Connection != watch.ConnStopped {
			continue
		}
		w, ok := want[ev.Context]
		if !ok {
			t.Fatalf("context %s stopped: %+v", ev.Context, ev)
		}
		if ev.Resource != w.Resource || ev.Reason != w.Reason || ev.Message == "" {
			t.Errorf("%s stopped with %q/%q (%q), want %q/%q and a message", ev.Context, ev.Resource, ev.Reason, ev.Message, w.Resource, w.Reason)
		}
		delete(want, ev.Context)
	}
	cancel()
	for range fleet.Events() {
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v, want nil while one context lives", err)
	}
}

// watchAPI returns the watcher's clients for namespace ns of cfg's server.
func watchAPI(t testing.TB, cfg *rest.Config, ns string) watch.API {
	t.Helper()
	c, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return watch.NewAPI(c, ns)
}
