package e2e

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// The label the tests put on the leader's Pod, and labels of the Pods' own
// that must never be touched.
const (
	leaderKey, leaderValue = "leader-elector.io/role", "leader"
	leaderLabel            = leaderKey + "=" + leaderValue
)

var podOwnLabels = map[string]string{"app": "myapp", leaderKey + "-not": "kept"}

// createPods creates Pods named names in ns, as a kubelet-less control plane
// keeps them: Pending forever, but their labels can be patched like any.
func createPods(t *testing.T, ns string, names ...string) {
	t.Helper()
	pods := cp.Client(t, cp.Admin).CoreV1().Pods(ns)
	for _, name := range names {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(podOwnLabels), Annotations: map[string]string{"note": "kept"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox:1.37"}}},
		}
		if _, err := pods.Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Pod %s: %v", name, err)
		}
	}
}

// startLabelled runs an elector of s as the Pod named id, with
// --leader-label and POD_NAME from the environment as the downward API
// would set it.
func (s *electSetup) startLabelled(id string) *elector {
	s.t.Helper()
	dir := s.t.TempDir()
	status, leader := filepath.Join(dir, "status"), filepath.Join(dir, "leader")
	args := fastArgs(replica.Elect{Kubeconfig: s.kubeconfig, Lease: s.lease, Identity: id, StatusFile: status, LeaderFile: leader,
		Extra: []string{"--leader-label", leaderLabel}})
	return &elector{testProc: startBinary(s.t, []string{"POD_NAME=" + id}, args...), id: id, status: status, leader: leader}
}

// waitLabelledHolder waits until exactly one Pod carries the label and it
// is the Lease's holder, and returns it.
func waitLabelledHolder(t *testing.T, s *electSetup, lw *labelWatch, timeout time.Duration, not string) string {
	t.Helper()
	var got string
	waitFor(t, timeout, "the Lease's holder, and only it, to carry the label", func() bool {
		set := lw.set()
		if set == "" || set == not || strings.Contains(set, ",") {
			return false
		}
		got = set
		return s.holder() == set
	})
	return got
}

// 3 replicas of the real binary with --leader-label, on Pods the control
// plane stores but no kubelet runs. A watch of the Pods follows the label at
// every revision through a stale label left before the start, graceful
// hand-overs and a SIGKILLed leader: never two Pods labelled; after each
// hand-over the labelled Pod is the holder; the crashed leader's label is
// cleared by the next leader; no other label or annotation is touched.
func TestElectLeaderLabel(t *testing.T) {
	s := newElectSetup(t)
	names := []string{"alpha", "bravo", "charlie"}
	createPods(t, s.ns, append(names, "stale")...)
	admin := cp.Client(t, cp.Admin)
	patchLabel(t, admin, s.ns, "stale", `"`+leaderValue+`"`) // a leader's leftover from before
	lw := watchLabels(t, s.ns)
	lw.watchReleases(t, s.ns, s.lease)
	if got := lw.set(); got != "stale" {
		t.Fatalf("before the start the labelled set is {%s}, want {stale}", got)
	}

	es := map[string]*elector{}
	for _, n := range names {
		es[n] = s.startLabelled(n)
	}
	first := waitLabelledHolder(t, s, lw, 30*time.Second, "")
	if !lw.clearedSince(0, "stale") {
		t.Errorf("the stale label is gone but was never seen removed")
	}
	if l := waitOneLeader(t, 5*time.Second, slices.Collect(maps.Values(es))); l.id != first {
		t.Fatalf("%s's status file is shown but %s carries the label", l.id, first)
	}

	// Graceful: the label is off before the Lease is released, and the
	// process exits only after that.
	es[first].Signal(syscall.SIGTERM)
	if code := es[first].Wait(15 * time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0; stderr:\n%s", first, code, es[first].Stderr())
	}
	if pod := getPod(t, admin, s.ns, first); pod.Labels[leaderKey] != "" {
		t.Fatalf("%s exited with its Pod still labelled %s=%s", first, leaderKey, pod.Labels[leaderKey])
	}
	second := waitLabelledHolder(t, s, lw, 15*time.Second, first)
	t.Logf("graceful hand-over: %s -> %s", first, second)
	es[first] = s.startLabelled(first) // back as a follower

	// Crash: SIGKILL leaves the label; the next leader takes it off before
	// it labels its own Pod.
	time.Sleep(time.Second)
	mark := lw.mark()
	es[second].Signal(syscall.SIGKILL)
	es[second].Wait(5 * time.Second)
	if got := lw.set(); got != second {
		t.Fatalf("right after the SIGKILL the labelled set is {%s}, want the dead leader's {%s}", got, second)
	}
	third := waitLabelledHolder(t, s, lw, 20*time.Second, second)
	if !lw.clearedSince(mark, second) {
		t.Errorf("%s's label (a crashed leader) was not seen removed", second)
	}
	t.Logf("crash hand-over: %s -> %s", second, third)

	// One more graceful hand-over, to the restarted replica or the other.
	es[third].Signal(syscall.SIGTERM)
	if code := es[third].Wait(15 * time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0; stderr:\n%s", third, code, es[third].Stderr())
	}
	fourth := waitLabelledHolder(t, s, lw, 15*time.Second, third)
	t.Logf("graceful hand-over: %s -> %s", third, fourth)

	es[fourth].Signal(syscall.SIGTERM)
	if code := es[fourth].Wait(15 * time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0; stderr:\n%s", fourth, code, es[fourth].Stderr())
	}
	for _, e := range es {
		if !e.exited() {
			e.Signal(syscall.SIGTERM)
			e.Wait(15 * time.Second)
		}
	}
	time.Sleep(200 * time.Millisecond) // the watch's last events
	if got := lw.set(); got != "" {
		t.Errorf("after every replica stopped, {%s} still carries the label", got)
	}
	lw.check(t)
	lw.checkReleases(t)
}

func patchLabel(t *testing.T, client kubernetes.Interface, ns, pod, value string) {
	t.Helper()
	body := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, leaderKey, value)
	if _, err := client.CoreV1().Pods(ns).Patch(context.Background(), pod, "application/merge-patch+json", []byte(body), metav1.PatchOptions{}); err != nil {
		t.Fatalf("labelling Pod %s: %v", pod, err)
	}
}

func getPod(t *testing.T, client kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading Pod %s: %v", name, err)
	}
	return pod
}

// The Pods verbs are checked only with --leader-label: without them the
// label is an exit-2 error naming each missing verb before the Lease is
// touched, while the same user leads without the flag; with them the
// replica labels its Pod. A POD_NAME that names no Pod is an exit-2 error
// too, and so is none at all.
func TestElectLeaderLabelRBAC(t *testing.T) {
	withoutPods := func(skip ...string) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, r := range requiredRules("lock", "") {
			if slices.Contains(r.Resources, "pods") {
				r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return slices.Contains(skip, v) })
				if len(r.Verbs) == 0 {
					continue
				}
			}
			out = append(out, r)
		}
		return out
	}
	tests := []struct {
		name    string
		rules   []rbacv1.PolicyRule
		label   bool
		podName string
		code    int
		want    []string // substrings of the last stderr line
		notWant []string
	}{
		{"no pods verbs, no label", withoutPods("get", "list", "patch"), false, "x", 0, nil, nil},
		{"no pods verbs, label", withoutPods("get", "list", "patch"), true, "x", 2,
			[]string{"RBAC: not allowed to get pods, list pods, patch pods in namespace"}, []string{"leases", "events"}},
		{"no pods patch, label", withoutPods("patch"), true, "x", 2,
			[]string{"RBAC: not allowed to patch pods in namespace"}, []string{"get pods", "list pods"}},
		{"all, label", withoutPods(), true, "x", 0, nil, nil},
		{"all, label, no such Pod", withoutPods(), true, "nobody", 2, []string{`there is no Pod "nobody"`, "POD_NAME"}, nil},
		{"all, label, no POD_NAME", withoutPods(), true, "", 2, []string{"--leader-label needs this replica's Pod name", "POD_NAME"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := cp.Namespace(t)
			createPods(t, ns, "x")
			user := "u-" + strings.ReplaceAll(tt.name, " ", "")
			user = strings.ReplaceAll(user, ",", "")
			bindRole(t, ns, user, tt.rules)
			kc := cp.Kubeconfig(t, cp.UserConfig(user), ns)
			status := filepath.Join(t.TempDir(), "status")
			args := fastArgs(replica.Elect{Kubeconfig: kc, Lease: "lock", Identity: "x", StatusFile: status})
			if tt.label {
				args = append(args, "--leader-label", leaderLabel)
			}
			env := []string{"POD_NAME=" + tt.podName}
			if tt.code != 0 {
				_, stderr, code := runBinary(t, 20*time.Second, env, args...)
				if code != tt.code {
					t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
				}
				last := lastLine(stderr)
				for _, w := range tt.want {
					if !strings.Contains(last, w) {
						t.Errorf("error %q does not contain %q", last, w)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(last, w) {
						t.Errorf("error %q names %q, which was granted", last, w)
					}
				}
				if h := (&electSetup{t: t, ns: ns, lease: "lock"}).holder(); h != "" {
					t.Errorf("the Lease is held by %q: the check must fail before the election", h)
				}
				return
			}
			p := startBinary(t, env, args...)
			admin := cp.Client(t, cp.Admin)
			waitFor(t, 20*time.Second, "the replica to lead", func() bool {
				return (&electSetup{t: t, ns: ns, lease: "lock"}).holder() == "x" || p.exited()
			})
			if p.exited() {
				t.Fatalf("exited %d before leading; stderr:\n%s", p.Wait(0), p.Stderr())
			}
			want := ""
			if tt.label {
				want = leaderValue
			}
			waitFor(t, 10*time.Second, fmt.Sprintf("Pod x's label %s to be %q", leaderKey, want), func() bool {
				return getPod(t, admin, ns, "x").Labels[leaderKey] == want
			})
			p.Signal(syscall.SIGTERM)
			if code := p.Wait(15 * time.Second); code != 0 {
				t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
			}
			if got := getPod(t, admin, ns, "x").Labels[leaderKey]; got != "" {
				t.Errorf("Pod x still labelled %q after a clean exit", got)
			}
		})
	}
}

// The example Service routes to the leader alone: its selector is the
// example Deployment's own selector plus the label its sidecar puts on the
// leader's Pod, whose name the sidecar gets from the downward API.
// (TestManifestsApply applies it with the rest of deploy/ and checks the
// Role grants the Pods verbs, which are in elect.RequiredAccess.)
func TestManifestLeaderService(t *testing.T) {
	objs := readManifests(t, "base")
	var svc corev1.Service
	fromUnstructured(t, findManifest(t, objs, "Service", "myapp-leader"), &svc)
	var d appsv1.Deployment
	fromUnstructured(t, findManifest(t, objs, "Deployment", "myapp"), &d)
	sidecar := podContainer(t, &d, "leader-elector")
	label := flagOrEnv(sidecar, "--leader-label", "LEADER_ELECTOR_LEADER_LABEL")
	key, value, ok := strings.Cut(label, "=")
	if !ok {
		t.Fatalf("the example sidecar sets no --leader-label KEY=VALUE (got %q)", label)
	}
	if got := envFieldRef(sidecar, "POD_NAME"); got != "metadata.name" {
		t.Errorf("POD_NAME comes from %q, want the downward API's metadata.name", got)
	}
	// It must match the leader's Pod (every entry is a Pod label or the
	// leader label) and only this app's Pods (it holds the Deployment's own
	// selector), and the leader label must be among them.
	pod := maps.Clone(d.Spec.Template.Labels)
	pod[key] = value
	for k, v := range svc.Spec.Selector {
		if pod[k] != v {
			t.Errorf("the Service selects %s=%s, which the leader's Pod does not carry (it has %v)", k, v, pod)
		}
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if svc.Spec.Selector[k] != v {
			t.Errorf("the Service selects %v, without the Deployment's %s=%s: other apps' leaders would match", svc.Spec.Selector, k, v)
		}
	}
	if svc.Spec.Selector[key] != value {
		t.Errorf("the Service selects %v, without the leader label %s=%s", svc.Spec.Selector, key, value)
	}
}

// A leader whose label cannot be removed (its Pods patch right revoked
// while it leads): SIGTERM removes the status file at once all the same,
// the failure is logged and retried, and after the renew deadline the Lease
// is released anyway with exit 1 naming it; the next leader (allowed to
// patch) removes the leftover label before it labels its own Pod, so the
// label is never on two Pods.
func TestElectLeaderLabelRemovalFails(t *testing.T) {
	s := newElectSetup(t)
	createPods(t, s.ns, "alpha", "bravo")
	lw := watchLabels(t, s.ns)
	full := requiredRules(s.lease, "")
	var noPatch []rbacv1.PolicyRule
	for _, r := range full {
		if slices.Contains(r.Resources, "pods") {
			r.Verbs = []string{"get", "list"}
		}
		noPatch = append(noPatch, r)
	}
	bindRole(t, s.ns, "alpha", full)
	start := func(id, user string) *elector {
		dir := t.TempDir()
		status := filepath.Join(dir, "status")
		kc := cp.Kubeconfig(t, cp.UserConfig(user), s.ns)
		args := fastArgs(replica.Elect{Kubeconfig: kc, Lease: s.lease, Identity: id, StatusFile: status,
			Extra: []string{"--leader-label", leaderLabel}})
		return &elector{testProc: startBinary(t, []string{"POD_NAME=" + id}, args...), id: id, status: status}
	}
	alpha := start("alpha", "alpha")
	if got := waitLabelledHolder(t, s, lw, 20*time.Second, ""); got != "alpha" {
		t.Fatalf("%s leads, want alpha (the only replica)", got)
	}
	bravo := s.startLabelled("bravo") // admin: may patch

	// Revoke alpha's patch (its Role is named "elect", see bindRole).
	admin := cp.Client(t, cp.Admin)
	role, err := admin.RbacV1().Roles(s.ns).Get(context.Background(), "elect", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = noPatch
	if _, err := admin.RbacV1().Roles(s.ns).Update(context.Background(), role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the authorizer's cache

	sent := time.Now()
	alpha.Signal(syscall.SIGTERM)
	waitFor(t, time.Second, "alpha's status file to go at once, the label's removal failing or not", func() bool {
		return len(leaders([]*elector{alpha})) == 0
	})
	fileGone := time.Since(sent)
	code := alpha.Wait(15 * time.Second)
	exited := time.Since(sent)
	if code != 1 {
		t.Fatalf("alpha exited %d, want 1 (the label could not be removed); stderr:\n%s", code, alpha.Stderr())
	}
	if !strings.Contains(alpha.Stderr(), "could not remove the leader label from this Pod; retrying") {
		t.Errorf("the failed removal was not logged as retried; stderr:\n%s", alpha.Stderr())
	}
	if last := lastLine(alpha.Stderr()); !strings.Contains(last, "leader label could not be removed") || !strings.Contains(last, "forbidden") {
		t.Errorf("the exit does not name the label and why: %q", last)
	}
	// The bound: the release waited for the removal no longer than the
	// renew deadline (2s), plus slack for a loaded machine.
	if exited < 2*time.Second || exited > 6*time.Second {
		t.Errorf("alpha exited %v after SIGTERM, want the renew deadline (2s) and not much more", exited.Round(time.Millisecond))
	}
	t.Logf("status file gone %v after SIGTERM, exit %v after", fileGone.Round(time.Millisecond), exited.Round(time.Millisecond))

	if got := waitLabelledHolder(t, s, lw, 10*time.Second, "alpha"); got != "bravo" {
		t.Fatalf("%s carries the label, want bravo", got)
	}
	if !lw.clearedSince(0, "alpha") {
		t.Errorf("alpha's leftover label was never seen removed")
	}
	if !strings.Contains(bravo.Stderr(), `msg="removed the leader label an earlier leader left" `) {
		t.Errorf("bravo did not say it removed alpha's leftover label; stderr:\n%s", bravo.Stderr())
	}
	bravo.Signal(syscall.SIGTERM)
	if code := bravo.Wait(15 * time.Second); code != 0 {
		t.Errorf("bravo exited %d, want 0; stderr:\n%s", code, bravo.Stderr())
	}
	lw.check(t)
}
