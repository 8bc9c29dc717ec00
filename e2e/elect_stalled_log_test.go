package e2e

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/internal/logging"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/procstat"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// Issue 21: a leader whose stdout and stderr go to a pipe nobody reads (a
// stalled container log writer, a paused terminal) must still stop acting
// on time. The pipe fills with its own debug lines, and then every write to
// it would block; the sidecar's log must not, or the election loop stops at
// its next log line, before it hides the file or stops the child, and the
// follower takes over while the old leader still acts.
//
// The timings are the issue's: 6s/4s/1s.
const (
	stalledLease, stalledRenew, stalledRetry = 6 * time.Second, 4 * time.Second, time.Second
	// stalledSlack is how late past its deadline the leader may stop
	// acting on a loaded 2-core machine: the timer's delay, the unlink, the
	// test's 5ms poll. Below retry-period, the part of the margin
	// lease-duration - renew-deadline that covers a late deadline.
	stalledSlack = 500 * time.Millisecond
)

// stalledPipe is an os.Pipe whose read end is kept open and never read.
type stalledPipe struct{ r, w *os.File }

// stalledPipeSize is the pipe's capacity: twice Linux's default. A full
// pipe holds a little less than its capacity, as each page keeps the slack
// the next line did not fit in; at twice the default a full pipe holds
// well over 64 KiB, as much as any container runtime's log pipe.
const stalledPipeSize = 128 << 10

func newStalledPipe(t *testing.T) *stalledPipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// After the leader was stopped (cleanups run last first): on a
	// failure, what it logged besides the event streams that filled the
	// pipe says what it was doing.
	t.Cleanup(func() {
		w.Close()
		defer r.Close()
		if !t.Failed() {
			return
		}
		r.SetReadDeadline(time.Now().Add(time.Second))
		b, _ := io.ReadAll(r)
		var kept []string
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && !strings.Contains(line, "event stream") {
				kept = append(kept, line)
			}
		}
		t.Logf("the stalled pipe held %d bytes; its lines but the event streams':\n%s", len(b), strings.Join(kept[max(0, len(kept)-60):], "\n"))
	})
	if _, err := fdInt(r, func(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, stalledPipeSize) }); err != nil {
		t.Fatalf("F_SETPIPE_SZ on the pipe: %v", err)
	}
	return &stalledPipe{r: r, w: w}
}

// fdInt calls f with f's descriptor. Not File.Fd, which would put it in
// blocking mode, and SetReadDeadline would then no longer bound a read.
func fdInt(file *os.File, f func(fd int) (int, error)) (int, error) {
	rc, err := file.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ferr error
	if err := rc.Control(func(fd uintptr) { n, ferr = f(int(fd)) }); err != nil {
		return 0, err
	}
	return n, ferr
}

// unread is how many bytes wait in the pipe (FIONREAD).
func (p *stalledPipe) unread(t *testing.T) int {
	t.Helper()
	n, err := fdInt(p.r, func(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.TIOCINQ) }) // FIONREAD under its Linux name
	if err != nil {
		t.Fatalf("FIONREAD on the pipe: %v", err)
	}
	return n
}

// size is the pipe's capacity (F_GETPIPE_SZ).
func (p *stalledPipe) size(t *testing.T) int {
	t.Helper()
	n, err := fdInt(p.r, func(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0) })
	if err != nil {
		t.Fatalf("F_GETPIPE_SZ on the pipe: %v", err)
	}
	return n
}

// full reports whether not one more byte fits: a write through a
// non-blocking file description of its own (O_NONBLOCK on the shared one
// would change the leader's writes too) fails with EAGAIN. Raw system
// calls: os.File would wait in the poller instead. Bytes it does write
// stand in for the leader's next line: the pipe ends up full either way,
// whatever size the leader's last line had.
func (p *stalledPipe) full(t *testing.T) bool {
	t.Helper()
	fd, err := fdInt(p.w, func(w int) (int, error) {
		return unix.Open(fmt.Sprintf("/proc/self/fd/%d", w), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		t.Fatalf("opening the pipe's write end again: %v", err)
	}
	defer unix.Close(fd)
	one := []byte{'\n'}
	for range 1 << 17 {
		if _, err := unix.Write(fd, one); err != nil {
			if errors.Is(err, unix.EAGAIN) {
				return true
			}
			t.Fatalf("writing to the pipe: %v", err)
		}
	}
	return false
}

// stalledChildScript runs while leading: it writes its pid to $1, and on
// SIGTERM exits 0.
const stalledChildScript = `echo $$ > "$1.tmp" && mv "$1.tmp" "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done`

// readPid reads a pid file; 0 if there is none yet.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// waitProcGone polls every 5ms until process pid is gone (or a zombie) and
// returns when it was first seen so; it fails t after timeout.
func waitProcGone(t *testing.T, pid int, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if !procstat.Alive(pid) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after %v", pid, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startStalled starts an elector of s whose stdout and stderr are pipe,
// logging at debug level, with its endpoints on a free port (their stream
// lines fill the pipe) and the timings; extra comes last.
func (s *electSetup) startStalled(pipe *stalledPipe, kubeconfig, id string, env []string, extra ...string) (*elector, string) {
	s.t.Helper()
	addr, err := replica.FreeAddr()
	if err != nil {
		s.t.Fatal(err)
	}
	dir := s.t.TempDir()
	e := &elector{id: id, status: filepath.Join(dir, "status"), leader: filepath.Join(dir, "leader")}
	args := replica.Elect{Kubeconfig: kubeconfig, Lease: s.lease, Identity: id, StatusFile: e.status, LeaderFile: e.leader, HTTPAddr: addr,
		LeaseDuration: stalledLease, RenewDeadline: stalledRenew, RetryPeriod: stalledRetry,
		Extra: append([]string{"-v"}, extra...)}.Args()
	// *os.File writers go to the process as they are: no copying goroutine
	// of ours stands between it and the pipe.
	p, err := proc.Start(proc.Options{Path: binPath, Args: args, Env: env, Stdout: pipe.w, Stderr: pipe.w})
	if err != nil {
		s.t.Fatalf("starting %s: %v", id, err)
	}
	e.testProc = &testProc{Process: p, t: s.t}
	s.t.Cleanup(func() {
		if !p.Exited() {
			_ = p.Signal(syscall.SIGCONT)
			p.Stop(syscall.SIGKILL, 0)
		}
	})
	return e, addr
}

// startFollower starts an elector of s with the timings whose
// output is read as usual.
func (s *electSetup) startFollower(id string, env []string, extra ...string) *elector {
	s.t.Helper()
	e := s.prepare(id)
	e.testProc = startBinary(s.t, env, replica.Elect{Kubeconfig: s.kubeconfig, Lease: s.lease, Identity: id, StatusFile: e.status, LeaderFile: e.leader,
		LeaseDuration: stalledLease, RenewDeadline: stalledRenew, RetryPeriod: stalledRetry, Extra: extra}.Args()...)
	return e
}

// fillPipe opens and closes event streams of the leader's endpoints at
// addr (each logs two debug lines) until its own lines have filled pipe,
// then checks that the pipe is full and holds at least 64 KiB. It then
// opens streams for another while, so the leader's log queue overflows
// too; a leader that blocks on its log stops answering, which ends that.
func fillPipe(t *testing.T, pipe *stalledPipe, addr string) {
	t.Helper()
	const minUnread = 64 << 10
	capacity := pipe.size(t)
	if capacity < minUnread {
		t.Fatalf("the pipe holds %d bytes, less than the 64 KiB the test needs", capacity)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	stream := func() error {
		req, err := http.NewRequest("GET", "http://"+addr+"/leader", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/event-stream")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = bufio.NewReader(resp.Body).ReadString('\n') // the first frame: the stream is open
		return err
	}
	var streams atomic.Int64
	flood := func(until time.Time, stop func() bool) error {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		failed := func() bool {
			mu.Lock()
			defer mu.Unlock()
			return first != nil
		}
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(until) && !stop() && !failed() {
					if err := stream(); err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
						return
					}
					streams.Add(1)
				}
			})
		}
		wg.Wait()
		return first
	}
	start := time.Now()
	// Full is a little short of the capacity: a page may keep a line's
	// worth of slack.
	if err := flood(start.Add(30*time.Second), func() bool { return pipe.unread(t) >= capacity*15/16 }); err != nil {
		t.Fatalf("opening event streams: %v (after %d)", err, streams.Load())
	}
	own := pipe.unread(t)
	if !pipe.full(t) {
		t.Fatalf("the pipe is not full after 128 KiB more")
	}
	unread := pipe.unread(t)
	t.Logf("the leader's log filled %d of the pipe's %d bytes in %v (%d event streams); topped up to %d, full",
		own, capacity, time.Since(start).Round(time.Millisecond), streams.Load(), unread)
	if own < capacity/2 {
		t.Fatalf("the leader's own lines filled only %d bytes of the pipe", own)
	}
	if unread < minUnread {
		t.Fatalf("the full pipe holds %d bytes unread, want at least %d", unread, minUnread)
	}
	// Past the pipe, the leader's log queue (256 KiB) fills and drops.
	before := streams.Load()
	err := flood(time.Now().Add(10*time.Second), func() bool { return streams.Load()-before >= 1500 })
	t.Logf("%d more event streams with the pipe full (%v)", streams.Load()-before, err)
}

// metricValue scrapes one metric of the endpoints at addr.
func metricValue(t *testing.T, addr, name string) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading /metrics: %v", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// checkJSONNotice reads pipe until the notice of dropped lines comes
// (within 10s) and fails t unless every line before it and the notice
// itself parse as JSON, and the notice counts some lines. Empty lines are
// the newlines full wrote.
func checkJSONNotice(t *testing.T, pipe *stalledPipe) {
	t.Helper()
	pipe.r.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer pipe.r.SetReadDeadline(time.Time{})
	br := bufio.NewReader(pipe.r)
	lines := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no notice of dropped lines among %d lines of the stalled log: %v", lines, err)
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		lines++
		var rec struct {
			Level   string
			Msg     string
			Dropped uint64
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d of the JSON log does not parse: %v\n%s", lines, err, line)
		}
		if rec.Msg == logging.DroppedMsg {
			if rec.Dropped == 0 || rec.Level != "WARN" {
				t.Errorf("the notice of dropped lines: %s", line)
			}
			t.Logf("after %d JSON lines: %s", lines, line)
			return
		}
	}
}

// lastRenew reads the Lease: its holder and renewTime.
func (s *electSetup) lastRenew() (string, time.Time) {
	s.t.Helper()
	l, err := cp.Client(s.t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
	if err != nil {
		s.t.Fatalf("reading the Lease: %v", err)
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return holder, l.Spec.RenewTime.Time
}

// Status file and exec mode: the leader, its log stalled, is cut off from
// the API server. Its file goes (and its child, in exec mode) by its last
// renewal + renew-deadline, before the follower acts; it keeps competing
// once the cut heals, and still exits promptly on SIGTERM. The issue saw
// it with either log format.
func TestElectStalledLogCutOff(t *testing.T) {
	for _, tt := range []struct {
		name   string
		exec   bool
		format string
	}{
		{"status file", false, "text"},
		{"status file, json", false, "json"},
		{"exec mode", true, "text"},
	} {
		exec := tt.exec
		t.Run(tt.name, func(t *testing.T) {
			s := newElectSetup(t)
			proxy, kc := s.viaFaultProxy()
			// In exec mode each elector runs stalledChildScript, which
			// writes its pid to the file named after it.
			var pidFiles []string
			cmd := func(id string) []string {
				if !exec {
					return nil
				}
				pidFile := filepath.Join(t.TempDir(), "child-pid")
				pidFiles = append(pidFiles, pidFile)
				return []string{"--grace=1s", "--", "sh", "-c", stalledChildScript, "sh", pidFile}
			}
			format := []string{"--log-format", tt.format}

			pipe := newStalledPipe(t)
			a, addr := s.startStalled(pipe, kc, "stalled", nil, append(format, cmd("stalled")...)...)
			waitOneLeader(t, 30*time.Second, []*elector{a})
			b := s.startFollower("follower", nil, cmd("follower")...)
			waitFor(t, 20*time.Second, "the follower to follow", func() bool {
				got, err := os.ReadFile(b.leader)
				return err == nil && string(got) == a.id
			})
			es := []*elector{a, b}
			chk := startChecker(es)
			var child int // the stalled leader's
			if exec {
				waitFor(t, 5*time.Second, "the leader's child to start", func() bool {
					child = readPid(pidFiles[0])
					return child > 0
				})
			}
			fillPipe(t, pipe, addr)

			proxy.BlackHole()
			cut := time.Now()
			gone := waitGone(t, a.status, 15*time.Second)
			holder, renewed := s.lastRenew()
			if holder != a.id {
				t.Fatalf("the Lease was held by %q when the stalled leader's file went: it went too late", holder)
			}
			deadline := renewed.Add(stalledRenew)
			if late := gone.Sub(deadline); late > stalledSlack {
				t.Errorf("the stalled leader's file went %v after its last renewal, %v past renew-deadline (%v); allowed slack %v",
					gone.Sub(renewed).Round(time.Millisecond), late.Round(time.Millisecond), stalledRenew, stalledSlack)
			}
			if exec {
				// Its child shares the stalled stderr too and hangs in
				// its SIGTERM handler (dash writes "Terminated" there):
				// the sidecar's SIGKILL after the grace must end it, by the
				// deadline all the same (it starts the stop the grace
				// before).
				stopped := waitProcGone(t, child, 15*time.Second)
				if late := stopped.Sub(deadline); late > stalledSlack {
					t.Errorf("the stalled leader's child stopped %v after its last renewal, %v past renew-deadline (%v); allowed slack %v",
						stopped.Sub(renewed).Round(time.Millisecond), late.Round(time.Millisecond), stalledRenew, stalledSlack)
				}
				t.Logf("the stalled leader's child was gone %v after its last renewal", stopped.Sub(renewed).Round(time.Millisecond))
				if other := readPid(pidFiles[1]); other > 0 {
					t.Errorf("the follower's child (pid %d) started before the stalled leader's was gone", other)
				}
			}
			if l := waitOneLeader(t, 20*time.Second, es); l != b {
				t.Fatalf("%s leads, want the follower", l.id)
			}
			t.Logf("cut: the stalled leader's file went %v after the cut (%v after its last renewal); the follower leads %v after the cut",
				gone.Sub(cut).Round(time.Millisecond), gone.Sub(renewed).Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
			if exec {
				waitFor(t, 5*time.Second, "the follower's child to start", func() bool { return readPid(pidFiles[1]) > 0 })
			}
			chk.finish(t)
			if d := metricValue(t, addr, "leader_elector_log_lines_dropped_total"); d <= 0 {
				t.Errorf("leader_elector_log_lines_dropped_total is %v with the log stalled past its queue, want > 0", d)
			} else {
				t.Logf("the stalled leader dropped %v log lines", d)
			}

			if tt.format == "json" {
				// Read the pipe at last: what the queue kept follows, with
				// the notice of what it dropped, and every line parses.
				checkJSONNotice(t, pipe)
			}

			proxy.Heal()
			time.Sleep(2 * stalledRetry) // it reconnects and follows
			if a.exited() {
				t.Fatalf("the stalled replica exited (code %d); it must keep competing", a.code())
			}
			a.Signal(syscall.SIGTERM)
			exitStart := time.Now()
			if code := a.Wait(10 * time.Second); code != 0 {
				t.Errorf("the stalled replica exited %d after SIGTERM, want 0", code)
			}
			how := "its log still stalled"
			if tt.format == "json" {
				how = "its log read again" // checkJSONNotice read it
			}
			t.Logf("the stalled replica exited %v after SIGTERM, %s", time.Since(exitStart).Round(time.Millisecond), how)
		})
	}
}

// --leader-label: taking the label off needs the API server, so the
// stalled leader is deposed by a foreign write to the Lease instead of a
// cut. Its file goes and its Pod's label comes off at once, before anyone
// else acts; then SIGTERM ends it promptly though its log is stalled.
func TestElectStalledLogLabel(t *testing.T) {
	s := newElectSetup(t)
	createPods(t, s.ns, "stalled", "follower")
	lw := watchLabels(t, s.ns)
	label := []string{"--leader-label", leaderLabel}
	pipe := newStalledPipe(t)
	a, addr := s.startStalled(pipe, s.kubeconfig, "stalled", []string{"POD_NAME=stalled"}, label...)
	waitOneLeader(t, 30*time.Second, []*elector{a})
	waitFor(t, 10*time.Second, "the leader's Pod to carry the label", func() bool { return lw.set() == a.id })
	b := s.startFollower("follower", []string{"POD_NAME=follower"}, label...)
	waitFor(t, 20*time.Second, "the follower to follow", func() bool {
		got, err := os.ReadFile(b.leader)
		return err == nil && string(got) == a.id
	})
	es := []*elector{a, b}
	chk := startChecker(es)
	fillPipe(t, pipe, addr)

	mark := lw.mark()
	patch := []byte(`{"spec":{"holderIdentity":"intruder"}}`)
	if _, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Patch(context.Background(), s.lease, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("the foreign write: %v", err)
	}
	written := time.Now()
	gone := waitGone(t, a.status, 15*time.Second)
	// The leader's last renewal came before the write, so its deadline is
	// no later than the write + renew-deadline; seeing the foreign holder
	// should end its term long before.
	if late := gone.Sub(written.Add(stalledRenew)); late > stalledSlack {
		t.Errorf("the deposed leader's file went %v after the foreign write, past renew-deadline (%v) + %v",
			gone.Sub(written).Round(time.Millisecond), stalledRenew, stalledSlack)
	}
	// The label's removal is a request of its own, bounded by the request
	// timeout (half the renew deadline).
	waitFor(t, stalledRenew+stalledRenew/2+stalledSlack, "the deposed leader's label to come off", func() bool { return lw.clearedSince(mark, a.id) })
	unlabelled := time.Now()
	if holder, _ := s.lastRenew(); holder != "intruder" {
		t.Errorf("the Lease was held by %q when the deposed leader's label came off, want still the intruder: it came off too late", holder)
	}
	t.Logf("deposed: the file went %v and the label %v after the foreign write",
		gone.Sub(written).Round(time.Millisecond), unlabelled.Sub(written).Round(time.Millisecond))

	// The intruder never renews: after lease-duration one replica takes
	// the Lease and acts, with its label.
	l := waitOneLeader(t, stalledLease+10*time.Second, es)
	waitFor(t, 10*time.Second, "the new leader's Pod, and only it, to carry the label", func() bool { return lw.set() == l.id })
	chk.finish(t)
	lw.check(t)
	if d := metricValue(t, addr, "leader_elector_log_lines_dropped_total"); d <= 0 {
		t.Errorf("leader_elector_log_lines_dropped_total is %v with the log stalled past its queue, want > 0", d)
	}

	a.Signal(syscall.SIGTERM)
	exitStart := time.Now()
	if code := a.Wait(10 * time.Second); code != 0 {
		t.Errorf("the stalled replica exited %d after SIGTERM, want 0", code)
	}
	t.Logf("the stalled replica exited %v after SIGTERM, its log still stalled", time.Since(exitStart).Round(time.Millisecond))
	if pod := getPod(t, cp.Client(t, cp.Admin), s.ns, a.id); pod.Labels[leaderKey] != "" {
		t.Errorf("the stalled replica exited with its Pod labelled")
	}
}
