package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// revSet is what was true from revision rv on: the labelled set (a Pod
// change) or the holder that released the Lease (a Lease change). Pods and
// Leases share etcd's one revision counter, so the two can be ordered.
type revSet struct {
	rv  int64
	set string
}

// labelWatch follows every change of the namespace's Pods in the order the
// API server stored them (a watch from a list's resourceVersion), so the
// set of Pods carrying the leader label is known at every revision, not
// only at the moments a poll happens to look.
type labelWatch struct {
	mu       sync.Mutex
	labelled map[string]bool
	history  []string // the labelled set after each change of it
	sets     []revSet // the same, with the revision of each change
	releases []revSet // the Lease's releases: the revision, and who held it
	twice    []string // revisions at which two or more Pods carried it
	other    []string // Pods whose own labels or annotations changed
	err      error
	stop     func()
	done     chan struct{}
}

// watchLabels starts a labelWatch of ns's Pods; it stops when the test ends.
func watchLabels(t *testing.T, ns string) *labelWatch {
	t.Helper()
	pods := cp.Client(t, cp.Admin).CoreV1().Pods(ns)
	ctx, cancel := context.WithCancel(context.Background())
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing Pods: %v", err)
	}
	lw := &labelWatch{labelled: map[string]bool{}, stop: cancel, done: make(chan struct{})}
	for i := range list.Items {
		lw.see(&list.Items[i], list.ResourceVersion)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("watching Pods: %v", err)
	}
	go func() {
		defer close(lw.done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if ev.Type == watch.Error || !ok {
				lw.fail(fmt.Errorf("the Pod watch failed: %v", ev.Object))
				return
			}
			if ev.Type == watch.Deleted {
				pod.Labels = nil
			}
			lw.see(pod, pod.ResourceVersion)
		}
		if ctx.Err() == nil {
			lw.fail(fmt.Errorf("the Pod watch ended early"))
		}
	}()
	t.Cleanup(func() { cancel(); <-lw.done })
	return lw
}

func (lw *labelWatch) fail(err error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err == nil {
		lw.err = err
	}
}

func (lw *labelWatch) see(pod *corev1.Pod, rv string) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	was := lw.names()
	if pod.Labels[leaderKey] == leaderValue {
		lw.labelled[pod.Name] = true
	} else {
		delete(lw.labelled, pod.Name)
	}
	if pod.Labels != nil {
		for k, v := range podOwnLabels {
			if pod.Labels[k] != v {
				lw.other = append(lw.other, fmt.Sprintf("%s: label %s=%q, want %q", pod.Name, k, pod.Labels[k], v))
			}
		}
		if pod.Annotations["note"] != "kept" {
			lw.other = append(lw.other, pod.Name+": annotation note gone")
		}
	}
	now := lw.names()
	if now != was {
		lw.history = append(lw.history, "{"+now+"}")
		lw.sets = append(lw.sets, revSet{parseRV(rv), now})
	}
	if len(lw.labelled) > 1 {
		lw.twice = append(lw.twice, fmt.Sprintf("rv %s: {%s}", rv, now))
	}
}

// watchReleases follows the Lease too, recording each release (a holder
// replaced by none) with its revision, for checkReleases.
func (lw *labelWatch) watchReleases(t *testing.T, ns, lease string) {
	t.Helper()
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := leases.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + lease})
	if err != nil {
		t.Fatalf("watching the Lease: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Stop()
		holder := ""
		for ev := range w.ResultChan() {
			l, ok := ev.Object.(*coordinationv1.Lease)
			if ev.Type == watch.Error || !ok {
				lw.fail(fmt.Errorf("the Lease watch failed: %v", ev.Object))
				return
			}
			h := ""
			if l.Spec.HolderIdentity != nil {
				h = *l.Spec.HolderIdentity
			}
			if holder != "" && h == "" {
				lw.mu.Lock()
				lw.releases = append(lw.releases, revSet{parseRV(l.ResourceVersion), holder})
				lw.mu.Unlock()
			}
			holder = h
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func parseRV(rv string) int64 {
	var n int64
	fmt.Sscan(rv, &n)
	return n
}

// checkReleases: every release of the Lease came after the releasing
// replica's label was off its Pod.
func (lw *labelWatch) checkReleases(t *testing.T) {
	t.Helper()
	problems, n := lw.releaseProblems()
	if n == 0 {
		t.Errorf("the Lease watch saw no release: the order was not checked")
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d releases of the Lease, %d while the releasing replica's Pod carried the label", n, len(problems))
}

func (lw *labelWatch) releaseProblems() (problems []string, releases int) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, rel := range lw.releases {
		set := ""
		for _, s := range lw.sets {
			if s.rv < rel.rv {
				set = s.set
			}
		}
		if slices.Contains(strings.Split(set, ","), rel.set) {
			problems = append(problems, fmt.Sprintf("%s released the Lease (revision %d) while its Pod still carried the label", rel.set, rel.rv))
		}
	}
	return problems, len(lw.releases)
}

// names is the labelled set, sorted; mu held.
func (lw *labelWatch) names() string {
	return strings.Join(slices.Sorted(maps.Keys(lw.labelled)), ",")
}

// set returns the labelled set now, e.g. "bravo" or "" for none.
func (lw *labelWatch) set() string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.names()
}

// clearedSince says whether name's label went away since mark i: a change
// from a set holding name to one without it, starting from the set at i.
func (lw *labelWatch) clearedSince(i int, name string) bool {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	seen := false
	for _, h := range lw.history[max(i-1, 0):] {
		has := slices.Contains(strings.Split(strings.Trim(h, "{}"), ","), name)
		if has {
			seen = true
		}
		if seen && !has {
			return true
		}
	}
	return false
}

// mark is a point in the history, for clearedSince.
func (lw *labelWatch) mark() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return len(lw.history)
}

// check fails t with everything the watch found wrong.
func (lw *labelWatch) check(t *testing.T) {
	t.Helper()
	lw.mu.Lock()
	defer lw.mu.Unlock()
	t.Logf("the labelled set, change by change: %s", strings.Join(lw.history, " "))
	if lw.err != nil {
		t.Errorf("%v: the sampling is incomplete", lw.err)
	}
	if len(lw.twice) > 0 {
		t.Errorf("two Pods carried the leader label at once, %d times; first at %s", len(lw.twice), lw.twice[0])
	}
	if len(lw.other) > 0 {
		t.Errorf("the sidecar changed more of a Pod than the one label: %s", lw.other[0])
	}
}

// The watch's checks must be able to fail: two labelled Pods, a Pod that
// lost one of its own labels, and a release while the releasing replica's
// Pod was still labelled are all reported.
func TestLabelWatchDetects(t *testing.T) {
	lw := &labelWatch{labelled: map[string]bool{}}
	pod := func(name, rv string, leader bool, own map[string]string) {
		labels := maps.Clone(own)
		if leader {
			labels[leaderKey] = leaderValue
		}
		lw.see(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{"note": "kept"}}}, rv)
	}
	pod("a", "10", true, podOwnLabels)
	lw.releases = append(lw.releases, revSet{11, "a"})
	pod("b", "12", true, map[string]string{"app": "myapp"})
	if len(lw.twice) != 1 || len(lw.other) != 1 {
		t.Errorf("two labelled Pods: %d reports, want 1; a lost own label: %d reports, want 1", len(lw.twice), len(lw.other))
	}
	if problems, _ := lw.releaseProblems(); len(problems) != 1 {
		t.Errorf("a release at revision 11 while a's Pod was labelled since 10 was not reported")
	}
}
