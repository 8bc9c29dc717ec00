package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// fastArgs is e's command line with short timings, which keep the tests
// fast and still obey every rule: 3s > 2s + 0.5s, 2s > 1.2 x 0.5s, and a
// grace up to 2s - 2 x 0.5s = 1s.
func fastArgs(e replica.Elect) []string {
	e.LeaseDuration, e.RenewDeadline, e.RetryPeriod = 3*time.Second, 2*time.Second, 500*time.Millisecond
	return e.Args()
}

// elector is one leader-elector elect process with its own status file.
type elector struct {
	*testProc
	id     string
	status string
	leader string // its --leader-file
}

// electSetup is what several electors of one test share.
type electSetup struct {
	t          *testing.T
	ns, lease  string
	kubeconfig string
}

func newElectSetup(t *testing.T) *electSetup {
	ns := cp.Namespace(t)
	return &electSetup{t: t, ns: ns, lease: "lock", kubeconfig: cp.Kubeconfig(t, cp.Admin, ns)}
}

// viaFaultProxy starts a fault proxy in front of the API server and returns
// it with a kubeconfig, for the setup's namespace, whose server is the
// proxy: an elector given it meets the faults the test injects.
func (s *electSetup) viaFaultProxy() (*faultProxy, string) {
	s.t.Helper()
	proxy, err := newFaultProxy(strings.TrimPrefix(cp.Host, "https://"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { proxy.Close() })
	viaProxy := rest.CopyConfig(cp.Admin)
	viaProxy.Host = "https://" + proxy.Addr()
	kc := filepath.Join(s.t.TempDir(), "kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, viaProxy, s.ns); err != nil {
		s.t.Fatal(err)
	}
	return proxy, kc
}

// start runs an elector named id with the fast timings, endpoints off
// unless extra says otherwise; extra comes last, so it may hold "-- CMD".
func (s *electSetup) start(id string, extra ...string) *elector {
	s.t.Helper()
	e := s.prepare(id)
	s.launch(e, extra...)
	return e
}

// prepare names an elector's files without starting it, so a checker can
// watch them before the process exists (a rolling update's next pod).
func (s *electSetup) prepare(id string) *elector {
	dir := s.t.TempDir()
	return &elector{id: id, status: filepath.Join(dir, "status"), leader: filepath.Join(dir, "leader")}
}

// launch starts a prepared elector's process, as start does.
func (s *electSetup) launch(e *elector, extra ...string) {
	s.t.Helper()
	e.testProc = startBinary(s.t, nil, fastArgs(replica.Elect{Kubeconfig: s.kubeconfig, Lease: s.lease,
		Identity: e.id, StatusFile: e.status, LeaderFile: e.leader, Extra: extra})...)
}

// holder reads the Lease's holder ("" if none or no Lease).
func (s *electSetup) holder() string {
	s.t.Helper()
	l, err := cp.Client(s.t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		s.t.Fatalf("reading the Lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// leaders returns the electors whose status file exists now.
func leaders(es []*elector) []*elector {
	var out []*elector
	for _, e := range es {
		if _, err := os.Lstat(e.status); err == nil {
			out = append(out, e)
		}
	}
	return out
}

// waitOneLeader waits until exactly one of es has its status file, and
// returns it.
func waitOneLeader(t *testing.T, timeout time.Duration, es []*elector) *elector {
	t.Helper()
	var l *elector
	waitFor(t, timeout, "exactly one status file", func() bool {
		ls := leaders(es)
		if len(ls) == 1 {
			l = ls[0]
			return true
		}
		return false
	})
	return l
}

// fileSeen is one read of a status file: ok if it was there.
type fileSeen struct {
	ok      bool
	ino     uint64
	mtime   int64
	content string
	t0, t1  time.Time // when the read began and ended
}

// presenceChange is a status file seen appearing or disappearing: it
// changed after lo (the start of the last read in the old state) and
// before hi (the end of the first read in the new state).
type presenceChange struct {
	id      string
	present bool
	lo, hi  time.Time
}

// handover is one elector's file disappearing and then another's
// appearing; the time between lies in [atLeast, atMost].
type handover struct {
	from, to         string
	atLeast, atMost  time.Duration
	vanished, appear presenceChange
}

// checker reads every elector's status file in a tight loop, as the
// original's shell loop would, and records:
//   - any read that found the file but not exactly its elector's identity
//     (empty or partial content);
//   - any overlap: file A seen as the same instance (inode and mtime: every
//     write renames a fresh file in) before and after file B was seen, so
//     both existed at one moment. Sequential reads alone could not tell a
//     hand-over from an overlap; this can, with no false alarm;
//   - every appearance and disappearance of a file, for handovers.
type checker struct {
	es   []*elector
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	bad      []string
	overlaps []string
	rounds   int
	reads    int
	last     map[string]fileSeen // each elector's previous read
	changes  []presenceChange
}

func startChecker(es []*elector) *checker {
	c := &checker{es: es, stop: make(chan struct{}), done: make(chan struct{}), last: map[string]fileSeen{}}
	go c.loop()
	return c
}

func (c *checker) loop() {
	defer close(c.done)
	n := len(c.es)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		seen := make([]fileSeen, 2*n) // pass 1 then pass 2, in reading order
		for i := range seen {
			seen[i] = c.read(c.es[i%n])
		}
		c.mu.Lock()
		c.rounds++
		for a := 0; a < n; a++ {
			first, second := seen[a], seen[a+n]
			if !first.ok || !second.ok || first.ino != second.ino || first.mtime != second.mtime {
				continue
			}
			for k := a + 1; k < a+n; k++ { // everything read strictly between
				if seen[k].ok {
					c.overlaps = append(c.overlaps, fmt.Sprintf("%s's file existed throughout while %s's was read", c.es[a].id, c.es[k%n].id))
				}
			}
		}
		c.mu.Unlock()
		time.Sleep(500 * time.Microsecond)
	}
}

func (c *checker) read(e *elector) fileSeen {
	t0 := time.Now()
	s := c.readFile(e)
	s.t0, s.t1 = t0, time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.last[e.status]; ok && prev.ok != s.ok {
		c.changes = append(c.changes, presenceChange{id: e.id, present: s.ok, lo: prev.t0, hi: s.t1})
	}
	c.last[e.status] = s
	return s
}

func (c *checker) readFile(e *elector) fileSeen {
	f, err := os.Open(e.status)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.fail(fmt.Sprintf("opening %s: %v", e.status, err))
		}
		return fileSeen{}
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		c.fail(fmt.Sprintf("stat %s: %v", e.status, err))
		return fileSeen{}
	}
	b := make([]byte, 512)
	nr, _ := f.Read(b)
	s := fileSeen{ok: true, ino: st.Ino, mtime: st.Mtim.Nano(), content: string(b[:nr])}
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	if s.content != e.id {
		c.fail(fmt.Sprintf("%s held %q, want %q", e.status, s.content, e.id))
	}
	if st.Mode&0o777 != 0o644 {
		c.fail(fmt.Sprintf("%s has mode %o, want 644", e.status, st.Mode&0o777))
	}
	return s
}

func (c *checker) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 20 {
		c.bad = append(c.bad, msg)
	}
}

// handovers pairs each disappearance of a file with the next appearance of
// another elector's file. Call after finish.
func (c *checker) handovers() []handover {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []handover
	for i, v := range c.changes {
		if v.present {
			continue
		}
		for _, a := range c.changes[i+1:] {
			if a.present && a.id != v.id {
				out = append(out, handover{from: v.id, to: a.id, atLeast: a.lo.Sub(v.hi), atMost: a.hi.Sub(v.lo), vanished: v, appear: a})
				break
			}
			if a.present { // the same elector came back first
				break
			}
		}
	}
	return out
}

// finish stops the checker and fails t with what it found.
func (c *checker) finish(t *testing.T) {
	t.Helper()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Logf("checker: %d rounds, %d successful reads of a status file", c.rounds, c.reads)
	for _, b := range c.bad {
		t.Errorf("status file read: %s", b)
	}
	if len(c.overlaps) > 0 {
		t.Errorf("%d overlaps of two status files, first: %s", len(c.overlaps), c.overlaps[0])
	}
	if c.reads == 0 {
		t.Errorf("the checker never saw a status file: it checked nothing")
	}
}

// The checker must be able to fail: two status files that both exist are an
// overlap, and a file with the wrong content is reported.
func TestElectCheckerDetects(t *testing.T) {
	dir := t.TempDir()
	a := &elector{id: "a", status: filepath.Join(dir, "a")}
	b := &elector{id: "b", status: filepath.Join(dir, "b")}
	os.WriteFile(a.status, []byte("a"), 0o644)
	os.WriteFile(b.status, []byte(""), 0o644)
	c := startChecker([]*elector{a, b})
	time.Sleep(50 * time.Millisecond)
	close(c.stop)
	<-c.done
	if len(c.overlaps) == 0 {
		t.Errorf("two files existing together were not reported as an overlap")
	}
	if len(c.bad) == 0 {
		t.Errorf("an empty status file was not reported")
	}
}
