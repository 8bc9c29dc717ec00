package leasewatche2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

var cp *controlplane.ControlPlane

// The levers for a real 410: with the watch cache on, the API server
// serves watches from a window it sizes itself (minutes of events, not
// settable in v1.37), so it is switched off for Leases and their watches go
// to etcd; the API server compacts etcd every second, so a version a few
// seconds old is gone, as on a busy cluster after a long partition.
var flags = []string{
	"--watch-cache-sizes=leases.coordination.k8s.io#0",
	"--etcd-compaction-interval=1s",
}

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := controlplane.Start(ctx, controlplane.Options{ExtraAPIServerFlags: flags})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	cp = c
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "controlplane: tests failed; last server log lines:\n%s\n", c.Logs(40))
	}
	c.Stop()
	os.Exit(code)
}

// gated passes calls through, recording them, except that the first watch
// waits for open: the loop is held at its list's version while the test
// writes and the server compacts, as a partition would hold it.
type gated struct {
	leasewatch.Client
	open  chan struct{}
	mu    sync.Mutex
	calls []string
}

func (g *gated) record(s string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, s)
	return len(g.calls)
}

func (g *gated) List(ctx context.Context, o metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	g.record(fmt.Sprintf("list rv=%q", o.ResourceVersion))
	return g.Client.List(ctx, o)
}

func (g *gated) Stream(ctx context.Context, o metav1.ListOptions) (leasewatch.Stream, error) {
	if g.record("watch rv="+o.ResourceVersion) == 2 {
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Client.Stream(ctx, o)
}

// state is what the handler was told: the Leases by name with their
// versions, the lists, and every failure.
type state struct {
	mu       sync.Mutex
	leases   map[string]string
	lists    []string // "rv=N [a b]"
	failures []error
	changed  chan struct{}
}

func (s *state) update(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *state) Replace(leases []*coordinationv1.Lease, rv string) {
	s.update(func() {
		clear(s.leases)
		var names []string
		for _, l := range leases {
			s.leases[l.Name] = l.ResourceVersion
			names = append(names, l.Name)
		}
		slices.Sort(names)
		s.lists = append(s.lists, fmt.Sprintf("rv=%s [%s]", rv, strings.Join(names, " ")))
	})
}

func (s *state) Apply(typ watch.EventType, l *coordinationv1.Lease) {
	s.update(func() {
		if typ == watch.Deleted {
			delete(s.leases, l.Name)
			return
		}
		s.leases[l.Name] = l.ResourceVersion
	})
}

func (s *state) Connection(err error) {
	if err != nil {
		s.update(func() { s.failures = append(s.failures, err) })
	}
}

// await waits until ok holds of the state.
func (s *state) await(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		done := ok()
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-s.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			first := error(nil)
			if len(s.failures) > 0 {
				first = s.failures[0]
			}
			t.Fatalf("%s: not within 30 s; leases %v, lists %v, %d failures, the first: %v", what, s.leases, s.lists, len(s.failures), first)
		}
	}
}

// A watch from a version etcd has compacted away gets a real 410 from the
// API server; the loop lists again, consistently, learns the Lease deleted
// meanwhile and the one created, and watches on from the new list.
func TestRelistAfterCompaction(t *testing.T) {
	ns := cp.Namespace(t)
	cs := cp.Client(t, cp.Admin)
	leases := cs.CoordinationV1().Leases(ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	create := func(name string) {
		t.Helper()
		if _, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	holder := func(name, h string) string {
		t.Helper()
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l.Spec.HolderIdentity = &h
		out, err := leases.Update(ctx, l, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out.ResourceVersion
	}
	create("a")
	create("b")

	clients, err := kubeclient.New(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	g := &gated{Client: leasewatch.Kube(clients.Leases(ns)), open: make(chan struct{})}
	s := &state{leases: map[string]string{}, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		leasewatch.Run(ctx, g, s, leasewatch.Options{CachedFirstList: true, RetryWait: 100 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()

	var listRV string
	s.await(t, "the first list", func() bool {
		if len(s.lists) == 0 {
			return false
		}
		listRV = strings.TrimPrefix(strings.Fields(s.lists[0])[0], "rv=")
		return true
	})
	// Held at listRV, the loop misses all of this.
	for i := range 5 {
		holder("a", fmt.Sprint("x", i))
	}
	if err := leases.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	create("c")
	lastA := holder("a", "y")
	waitCompacted(t, cs, ns, listRV)

	close(g.open)
	s.await(t, "a relist that shows b deleted and c created", func() bool {
		return len(s.lists) == 2 && s.leases["a"] == lastA && s.leases["c"] != "" && s.leases["b"] == ""
	})
	// And the watch goes on from the new list.
	lastA = holder("a", "z")
	s.await(t, "a's next change through the watch", func() bool { return s.leases["a"] == lastA })

	s.mu.Lock()
	defer s.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	newRV := strings.TrimPrefix(strings.Fields(s.lists[1])[0], "rv=")
	want := []string{`list rv="0"`, "watch rv=" + listRV, `list rv=""`, "watch rv=" + newRV}
	if !slices.Equal(g.calls, want) {
		t.Errorf("calls %q, want %q", g.calls, want)
	}
	if !strings.HasSuffix(s.lists[0], "[a b]") || !strings.HasSuffix(s.lists[1], "[a c]") {
		t.Errorf("lists %q, want [a b] then [a c]", s.lists)
	}
	if len(s.failures) > 0 {
		t.Errorf("an expired version is no failure, but the loop reported %v", s.failures)
	}
}

// waitCompacted waits until a watch from rv is refused with 410 Gone, as
// the loop's will be: the proof that the version expired for real.
func waitCompacted(t *testing.T, cs kubernetes.Interface, ns, rv string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := watchErr(cs, ns, rv)
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			t.Logf("a watch from %s: %v", rv, err)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not compact version %s within 30 s; a watch from it: %v", rv, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// watchErr opens a watch from rv and returns the error it ends with at
// once, or nil if it delivers an event or stays open a second.
func watchErr(cs kubernetes.Interface, ns, rv string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w, err := cs.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		return err
	}
	defer w.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		if ok && ev.Type == watch.Error {
			return apierrors.FromObject(ev.Object)
		}
		if !ok {
			return errors.New("the watch ended")
		}
	case <-ctx.Done():
	}
	return nil
}
