package leaselock

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// Short timings keep the tests quick; they keep client-go's rule and ours
// (LeaseDuration > RenewDeadline + RetryPeriod).
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 2 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// request is one API request on a Lease, as a client sent it.
type request struct {
	at     time.Time // when it was sent
	verb   string    // get, list, watch, update, create, delete
	status int       // the response's code, 0 on a transport error
}

// apiLog records one client's Lease requests, and can cut its connection to
// play a crashed process that can neither renew nor release.
type apiLog struct {
	mu   sync.Mutex
	reqs []request
	cut  atomic.Bool
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// config returns base with every request going through the log.
func (a *apiLog) config(base *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(base)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if a.cut.Load() {
				return nil, errors.New("connection cut by the test")
			}
			verb := classify(r)
			at := time.Now()
			resp, err := rt.RoundTrip(r)
			if verb != "" {
				code := 0
				if resp != nil {
					code = resp.StatusCode
				}
				a.mu.Lock()
				a.reqs = append(a.reqs, request{at: at, verb: verb, status: code})
				a.mu.Unlock()
			}
			return resp, err
		})
	}
	return cfg
}

// classify names a Lease request's verb as RBAC does; "" for other resources.
func classify(r *http.Request) string {
	i := strings.Index(r.URL.Path, "/leases")
	if i < 0 {
		return ""
	}
	named := len(r.URL.Path) > i+len("/leases/")
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			return "watch"
		case named:
			return "get"
		}
		return "list"
	case http.MethodPut:
		return "update"
	case http.MethodPost:
		return "create"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(r.Method)
}

// since returns the requests with verb (any if "") sent at or after t.
func (a *apiLog) since(t time.Time, verb string) []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []request
	for _, r := range a.reqs {
		if !r.at.Before(t) && (verb == "" || r.verb == verb) {
			out = append(out, r)
		}
	}
	return out
}

// lastOK returns the send time of the last successful request with verb.
func (a *apiLog) lastOK(verb string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.reqs) - 1; i >= 0; i-- {
		if r := a.reqs[i]; r.verb == verb && r.status >= 200 && r.status < 300 {
			return r.at
		}
	}
	return time.Time{}
}

func testLogger() *slog.Logger {
	if os.Getenv("LEASELOCK_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newLock returns a started Lock for identity id whose requests go to log.
func newLock(t *testing.T, ns, name, id string, log *apiLog) *Lock {
	t.Helper()
	cs := cp.Client(t, log.config(cp.Admin))
	l := New(cs, ns, name, rl.ResourceLockConfig{Identity: id}, Options{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	l.Start(ctx)
	t.Cleanup(cancel)
	return l
}

// term is one interval during which a candidate believed it led: from
// OnStartedLeading until the context it was given ended (or the test began
// to stop it, whichever came first).
type term struct {
	id         string
	start, end time.Time
}

// terms records every candidate's terms in one election.
type terms struct {
	mu   sync.Mutex
	list []*term
}

func (ts *terms) begin(id string) *term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tm := &term{id: id, start: time.Now()}
	ts.list = append(ts.list, tm)
	return tm
}

func (ts *terms) finish(tm *term, at time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if tm.end.IsZero() || at.Before(tm.end) {
		tm.end = at
	}
}

// current returns the open term, if any.
func (ts *terms) current() *term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, tm := range ts.list {
		if tm.end.IsZero() {
			return tm
		}
	}
	return nil
}

func (ts *terms) all() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]term, len(ts.list))
	for i, tm := range ts.list {
		out[i] = *tm
	}
	return out
}

// checkNoOverlap fails if two terms ever overlapped.
func (ts *terms) checkNoOverlap(t *testing.T) {
	t.Helper()
	all := ts.all()
	for i, a := range all {
		for _, b := range all[i+1:] {
			aEnd, bEnd := a.end, b.end
			if aEnd.IsZero() {
				aEnd = time.Now()
			}
			if bEnd.IsZero() {
				bEnd = time.Now()
			}
			if a.start.Before(bEnd) && b.start.Before(aEnd) {
				t.Errorf("%s led %s..%s while %s led %s..%s", a.id, a.start.Format(time.StampMicro), a.end.Format(time.StampMicro),
					b.id, b.start.Format(time.StampMicro), b.end.Format(time.StampMicro))
			}
		}
	}
}

// candidate is one client-go LeaderElector driving a Lock.
type candidate struct {
	id      string
	lock    *Lock
	api     *apiLog
	ts      *terms
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	leading *term
	leaders []string // OnNewLeader reports, in order
}

func startCandidate(t *testing.T, ns, name, id string, ts *terms) *candidate {
	t.Helper()
	c := &candidate{id: id, api: &apiLog{}, ts: ts, done: make(chan struct{})}
	c.lock = newLock(t, ns, name, id, c.api)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            c.lock,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   renewDeadline,
		RetryPeriod:     retryPeriod,
		ReleaseOnCancel: true,
		Name:            id,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				tm := ts.begin(id)
				c.mu.Lock()
				c.leading = tm
				c.mu.Unlock()
				<-ctx.Done()
				ts.finish(tm, time.Now())
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(identity string) {
				c.mu.Lock()
				c.leaders = append(c.leaders, identity)
				c.mu.Unlock()
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		le.Run(ctx)
	}()
	t.Cleanup(func() { c.cut(); c.stop(t) })
	return c
}

// stop cancels the candidate (a graceful shutdown: it releases the Lease if
// it holds it) and waits for its elector to return. A leader's term ends now.
func (c *candidate) stop(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	if c.leading != nil {
		c.ts.finish(c.leading, time.Now())
	}
	c.mu.Unlock()
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(2 * leaseDuration):
		t.Errorf("%s: elector did not return after cancel", c.id)
	}
}

// cut plays a crash: from now on the candidate's requests fail.
func (c *candidate) cut() { c.api.cut.Store(true) }

func (c *candidate) reportedLeaders() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.leaders...)
}

// waitFor polls cond until it holds or timeout passes. A liveness bound for
// the test, not a measurement.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLeader waits for an open term whose holder is not one of not.
func waitLeader(t *testing.T, ts *terms, not ...string) *term {
	t.Helper()
	var got *term
	waitFor(t, 5*leaseDuration, "a new leader", func() bool {
		got = ts.current()
		if got == nil {
			return false
		}
		for _, n := range not {
			if got.id == n {
				return false
			}
		}
		return true
	})
	return got
}

// putLease creates or overwrites the Lease as an outside holder would.
func putLease(t *testing.T, cs kubernetes.Interface, ns, name, holder string, seconds int32) *coordinationv1.Lease {
	t.Helper()
	ctx := context.Background()
	now := metav1.NowMicro()
	spec := coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(seconds), AcquireTime: &now, RenewTime: &now}
	cur, err := cs.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		out, err := cs.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating lease: %v", err)
		}
		return out
	}
	cur.Spec = spec
	out, err := cs.CoordinationV1().Leases(ns).Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating lease: %v", err)
	}
	return out
}
