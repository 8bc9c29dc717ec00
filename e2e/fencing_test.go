package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Issue 23, part 3: every term has a fencing token, greater than every
// earlier term's on the Lease, and an app reads it from --token-file,
// /leader or LEADER_ELECTOR_TOKEN. docs/fencing.md promises what these
// tests check.

// tokenElector is an elector with a token file and its endpoints on.
type tokenElector struct {
	*elector
	token string // its --token-file, beside the status file
	addr  string // its endpoints
}

func (s *electSetup) startWithToken(id string, extra ...string) *tokenElector {
	s.t.Helper()
	e := &tokenElector{elector: s.prepare(id), addr: freeAddr(s.t)}
	e.token = filepath.Join(filepath.Dir(e.status), "token")
	s.launch(e.elector, append([]string{"--token-file=" + e.token, "--http-addr=" + e.addr}, extra...)...)
	return e
}

// readToken reads a token file: the token, or ok false when it is absent.
func readToken(t *testing.T, path string) (uint64, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("reading the token file: %v", err)
	}
	s, ok := strings.CutSuffix(string(b), "\n")
	n, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || n == 0 {
		t.Fatalf("the token file holds %q, want a positive decimal number and a newline", b)
	}
	return n, true
}

// leaderToken waits until e's /leader says it leads and returns its token.
func leaderToken(t *testing.T, e *tokenElector) uint64 {
	t.Helper()
	var info struct {
		IsLeader bool    `json:"isLeader"`
		Token    *uint64 `json:"token"`
	}
	waitFor(t, 10*time.Second, e.id+"'s /leader to say it leads", func() bool {
		_, body := get(t, "http://"+e.addr+"/leader", "")
		return json.Unmarshal([]byte(body), &info) == nil && info.IsLeader
	})
	if info.Token == nil {
		t.Fatalf("%s's /leader has no token key", e.id)
	}
	return *info.Token
}

// tokenWatch reads every elector's status and token files in a loop and
// reports a status file seen without its token file beside it: the status
// file read present, then the token file absent, then the same status file
// (same inode: the same term) still present.
type tokenWatch struct {
	mu     sync.Mutex
	es     []*tokenElector
	errs   []string
	reads  int
	stop   chan struct{}
	done   chan struct{}
	stopMu sync.Once
}

func watchTokens(es ...*tokenElector) *tokenWatch {
	w := &tokenWatch{es: es, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *tokenWatch) add(e *tokenElector) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.es = append(w.es, e)
}

func inode(path string) (uint64, bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, false
	}
	return fi.Sys().(*syscall.Stat_t).Ino, true
}

func (w *tokenWatch) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		w.mu.Lock()
		es := append([]*tokenElector(nil), w.es...)
		w.mu.Unlock()
		for _, e := range es {
			before, ok := inode(e.status)
			if !ok {
				continue
			}
			_, tokenErr := os.Lstat(e.token)
			after, still := inode(e.status)
			w.mu.Lock()
			w.reads++
			if tokenErr != nil && still && after == before {
				w.errs = append(w.errs, fmt.Sprintf("%s's status file was there without its token file (%v)", e.id, tokenErr))
			}
			w.mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	}
}

func (w *tokenWatch) finish(t *testing.T) {
	t.Helper()
	w.stopMu.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("%d reads of a present status file and its token file", w.reads)
	for _, e := range w.errs {
		t.Error(e)
	}
	if w.reads == 0 {
		t.Error("the watch never saw a status file: it checked nothing")
	}
}

// Five graceful hand-overs and a same-identity restart: every new term's
// token, read from its token file and from /leader, is greater than the
// last; the token file is there whenever the status file is and goes with
// it.
func TestTokensGrowAcrossHandOversAndRestarts(t *testing.T) {
	s := newElectSetup(t)
	es := []*tokenElector{s.startWithToken("tok-0"), s.startWithToken("tok-1"), s.startWithToken("tok-2")}
	w := watchTokens(es...)
	defer w.finish(t)
	running := func() []*elector {
		var out []*elector
		for _, e := range es {
			if !e.exited() {
				out = append(out, e.elector)
			}
		}
		return out
	}
	byElector := func(l *elector) *tokenElector {
		for _, e := range es {
			if e.elector == l {
				return e
			}
		}
		t.Fatalf("no token elector for %s", l.id)
		return nil
	}
	// term reads the leader's token from its file and from /leader, which
	// must agree, and checks it is greater than last.
	term := func(what string, last uint64) (*tokenElector, uint64) {
		t.Helper()
		l := byElector(waitOneLeader(t, 20*time.Second, running()))
		fromHTTP := leaderToken(t, l)
		fromFile, ok := readToken(t, l.token)
		if !ok {
			t.Fatalf("%s: %s leads (its status file exists) but has no token file", what, l.id)
		}
		if fromFile != fromHTTP {
			t.Errorf("%s: %s's token file says %d, its /leader %d", what, l.id, fromFile, fromHTTP)
		}
		if fromFile <= last {
			t.Errorf("%s: %s's token %d is not greater than the last term's %d", what, l.id, fromFile, last)
		}
		t.Logf("%s: %s leads with token %d", what, l.id, fromFile)
		return l, fromFile
	}

	l, last := term("first term", 0)
	if !strings.Contains(l.Stderr(), "fencing tokens: the API server is 1.35 or later") {
		t.Errorf("the leader's log does not say which guarantee the tokens carry:\n%s", l.Stderr())
	}
	for i := range 5 {
		l.Signal(syscall.SIGTERM)
		if code := l.Wait(10 * time.Second); code != 0 {
			t.Fatalf("hand-over %d: %s exited %d, want 0; stderr:\n%s", i+1, l.id, code, l.Stderr())
		}
		if _, there := readToken(t, l.token); there {
			t.Errorf("hand-over %d: %s exited and left its token file", i+1, l.id)
		}
		n := s.startWithToken(fmt.Sprintf("tok-%d", 3+i))
		es = append(es, n)
		w.add(n)
		l, last = term(fmt.Sprintf("hand-over %d", i+1), last)
	}

	// The same identity again, twice, with nobody else competing: the
	// others stop first.
	for _, e := range es {
		if e != l && !e.exited() {
			e.Signal(syscall.SIGTERM)
			e.Wait(10 * time.Second)
		}
	}
	lease := func() (holder string, transitions int32) {
		got, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.HolderIdentity != nil {
			holder = *got.Spec.HolderIdentity
		}
		if got.Spec.LeaseTransitions != nil {
			transitions = *got.Spec.LeaseTransitions
		}
		return holder, transitions
	}

	// A restart: the leader is killed and comes back under its own name.
	// It leaves its files behind; the new process removes them at start
	// and shows its own term's.
	l.Signal(syscall.SIGKILL)
	l.Wait(10 * time.Second)
	again := &tokenElector{elector: &elector{id: l.id, status: l.status, leader: l.leader}, token: l.token, addr: freeAddr(t)}
	s.launch(again.elector, "--token-file="+again.token, "--http-addr="+again.addr)
	es = append(es, again)
	w.add(again)
	l, last = term("same-identity restart", last)

	// The same process leads again without anyone between: frozen past
	// its renew deadline (2s), it ends its term when it resumes, finds the
	// Lease still naming it in its own write, and starts a new term on
	// it. leaseTransitions counts holders, so it stays; the token grows.
	holderBefore, trBefore := lease()
	termBefore := leaderTerm(t, l)
	l.Signal(syscall.SIGSTOP)
	time.Sleep(2500 * time.Millisecond) // the fault: a pause longer than the renew deadline
	l.Signal(syscall.SIGCONT)
	waitFor(t, 10*time.Second, l.id+" to lead a new term after the pause", func() bool {
		return leaderTerm(t, l) > termBefore
	})
	_, last = term("a new term of the same process", last)
	if holder, tr := lease(); holder != holderBefore || tr != trBefore {
		t.Errorf("the Lease went from %q with leaseTransitions %d to %q with %d; want both unchanged: not the case this step tests", holderBefore, trBefore, holder, tr)
	}
	l.Signal(syscall.SIGTERM)
	if code := l.Wait(10 * time.Second); code != 0 {
		t.Errorf("%s exited %d, want 0", l.id, code)
	}
	if _, there := readToken(t, l.token); there {
		t.Errorf("%s exited and left its token file", l.id)
	}
}

// leaderTerm is e's /leader term while it says it leads, else 0.
func leaderTerm(t *testing.T, e *tokenElector) uint64 {
	t.Helper()
	var info struct {
		IsLeader bool   `json:"isLeader"`
		Term     uint64 `json:"term"`
	}
	if _, body := get(t, "http://"+e.addr+"/leader", ""); json.Unmarshal([]byte(body), &info) != nil || !info.IsLeader {
		return 0
	}
	return info.Term
}

// errStaleToken is the fenced resource's refusal of a write whose token is
// lower than one it has already accepted.
var errStaleToken = errors.New("stale fencing token")

// fencedWrite is docs/fencing.md's example of a resource that enforces the
// token: a ConfigMap that records the highest token it has accepted. A write
// with a lower token is refused; the update carries the resourceVersion it
// read, so a higher token accepted between the read and the update makes it
// conflict, and the retry reads that token and refuses. afterRead (tests
// only) runs between the read and the update.
func fencedWrite(ctx context.Context, cs kubernetes.Interface, ns, name string, token uint64, value string, afterRead func()) error {
	cms := cs.CoreV1().ConfigMaps(ns)
	for {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
		} else if err != nil {
			return err
		}
		if seen, _ := strconv.ParseUint(cm.Data["token"], 10, 64); token < seen {
			return fmt.Errorf("%w: %d, this resource has accepted %d", errStaleToken, token, seen)
		}
		if afterRead != nil {
			afterRead()
			afterRead = nil
		}
		cm.Data = map[string]string{"token": strconv.FormatUint(token, 10), "value": value}
		if cm.ResourceVersion == "" {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{}) // fails with 409 if the ConfigMap changed since the read
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			continue
		}
		return err
	}
}

// Kleppmann's case: A leads, its sidecar freezes (SIGSTOP: its app is
// paused too), the Lease expires, B takes over and writes with its greater
// token; then A's stale write, with its own token, is refused by the
// resource, and so is one that read the resource before B's write.
func TestFencingRefusesAPausedLeader(t *testing.T) {
	s := newElectSetup(t)
	cs := cp.Client(t, cp.Admin)
	ctx := context.Background()
	const cm = "fenced"

	a := s.startWithToken("fence-a")
	waitOneLeader(t, 20*time.Second, []*elector{a.elector})
	tA, ok := readToken(t, a.token)
	if !ok {
		t.Fatal("A leads without a token file")
	}
	if err := fencedWrite(ctx, cs, s.ns, cm, tA, "from A", nil); err != nil {
		t.Fatalf("A's write in its own term: %v", err)
	}
	b := s.startWithToken("fence-b")
	defer func() {
		// Whatever happened, never leave a stopped process behind.
		a.Process.Signal(syscall.SIGCONT)
		for _, e := range []*tokenElector{a, b} {
			if !e.exited() {
				e.Signal(syscall.SIGTERM)
				e.Wait(10 * time.Second)
			}
		}
	}()

	// A's app reads the ConfigMap before A freezes, and will write after.
	var late error
	lateDone := make(chan struct{})
	bWrote := make(chan struct{})
	readIt := make(chan struct{})
	go func() {
		defer close(lateDone)
		late = fencedWrite(ctx, cs, s.ns, cm, tA, "late from A", func() { close(readIt); <-bWrote })
	}()
	<-readIt
	a.Signal(syscall.SIGSTOP)

	waitOneLeader(t, 20*time.Second, []*elector{b.elector})
	if s.holder() != b.id {
		t.Fatalf("B's status file exists but the Lease names %q", s.holder())
	}
	tB, ok := readToken(t, b.token)
	if !ok {
		t.Fatal("B leads without a token file")
	}
	if fromHTTP := leaderToken(t, b); fromHTTP != tB {
		t.Errorf("B's token file says %d, its /leader %d", tB, fromHTTP)
	}
	if tB <= tA {
		t.Fatalf("B's token %d is not greater than A's %d", tB, tA)
	}
	if err := fencedWrite(ctx, cs, s.ns, cm, tB, "from B", nil); err != nil {
		t.Fatalf("B's write in its term: %v", err)
	}
	close(bWrote)
	<-lateDone
	if !errors.Is(late, errStaleToken) {
		t.Errorf("A's write that read the ConfigMap before B's write and updated after it: %v, want it refused as stale", late)
	}
	// A's paused app wakes and writes with the token it still holds.
	if err := fencedWrite(ctx, cs, s.ns, cm, tA, "stale from A", nil); !errors.Is(err, errStaleToken) {
		t.Errorf("A's stale write with token %d after B's %d: %v, want it refused", tA, tB, err)
	}
	got, err := cs.CoreV1().ConfigMaps(s.ns).Get(ctx, cm, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"token": strconv.FormatUint(tB, 10), "value": "from B"}; got.Data["token"] != want["token"] || got.Data["value"] != want["value"] {
		t.Errorf("the ConfigMap holds %v, want %v: a stale write got through", got.Data, want)
	}

	// A resumes, sees B's hold and stops acting: its files go.
	a.Signal(syscall.SIGCONT)
	waitFor(t, 10*time.Second, "A's status and token files to go after it resumed", func() bool {
		_, statusErr := os.Lstat(a.status)
		_, tokenThere := readToken(t, a.token)
		return errors.Is(statusErr, fs.ErrNotExist) && !tokenThere
	})
	t.Logf("A led with token %d, B with %d; A's stale writes were refused", tA, tB)
}

// Exec mode: the command reads its term's token from LEADER_ELECTOR_TOKEN,
// the same token the token file and /leader give.
func TestTokenInTheCommandsEnvironment(t *testing.T) {
	s := newElectSetup(t)
	e := &tokenElector{elector: s.prepare("fence-exec"), addr: freeAddr(t)}
	e.token = filepath.Join(filepath.Dir(e.status), "token")
	seen := filepath.Join(t.TempDir(), "seen")
	s.launch(e.elector, "--token-file="+e.token, "--http-addr="+e.addr, "--grace=1s", "--",
		"/bin/sh", "-c", `printf '%s\n' "$LEADER_ELECTOR_TOKEN" > `+seen+`.tmp && mv `+seen+`.tmp `+seen+` && exec sleep 300`)
	waitOneLeader(t, 20*time.Second, []*elector{e.elector})
	var fromEnv uint64
	waitFor(t, 10*time.Second, "the command to write down its token", func() bool {
		var ok bool
		fromEnv, ok = readToken(t, seen)
		return ok
	})
	fromFile, _ := readToken(t, e.token)
	if fromHTTP := leaderToken(t, e); fromEnv != fromFile || fromEnv != fromHTTP {
		t.Errorf("LEADER_ELECTOR_TOKEN=%d, token file %d, /leader %d: want one token", fromEnv, fromFile, fromHTTP)
	}
	e.Signal(syscall.SIGTERM)
	if code := e.Wait(15 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, e.Stderr())
	}
}
