package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// demoRun is one run of the demo binary with its own TMPDIR, so what it
// leaves behind (files or processes naming that directory) can be found.
type demoRun struct {
	t      *testing.T
	tmp    string
	cmd    *exec.Cmd
	stdout *proc.Buffer
	stderr *proc.Buffer
	exited chan struct{}
	err    error
}

// buildDemo builds ./demo once per test.
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	if err := replica.Build(context.Background(), replica.BuildOptions{Package: "./demo", Out: bin}); err != nil {
		t.Fatal(err)
	}
	return bin
}

// newDemo prepares a run with the e2e binary and the cached control plane,
// as `make demo` would after building them.
func newDemo(t *testing.T, demoBin string, args ...string) *demoRun {
	t.Helper()
	cpDir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// Go's flag package keeps the last value: a test's own -bin wins.
	args = append([]string{"-bin", binPath, "-controlplane", cpDir}, args...)
	cmd := exec.Command(demoBin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	d := &demoRun{t: t, tmp: tmp, cmd: cmd, stdout: &proc.Buffer{}, stderr: &proc.Buffer{}, exited: make(chan struct{})}
	t.Cleanup(func() {
		if d.cmd.Process != nil {
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("demo stderr:\n%s", d.stderr.String())
		}
	})
	return d
}

func (d *demoRun) start() {
	d.t.Helper()
	if d.cmd.Stdout == nil {
		d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("starting the demo: %v", err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
}

// wait fails the test unless the demo exits with 0 within timeout.
func (d *demoRun) wait(timeout time.Duration) {
	d.t.Helper()
	select {
	case <-d.exited:
		if d.err != nil {
			d.t.Fatalf("demo ended with %v", d.err)
		}
	case <-time.After(timeout):
		d.t.Fatalf("demo still running after %v", timeout)
	}
}

// checkNothingLeft fails the test if a file or a process of the run remains.
func (d *demoRun) checkNothingLeft() {
	d.t.Helper()
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, e := range entries {
		d.t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
	for _, p := range processesNaming(d.tmp) {
		d.t.Errorf("left running: %s", p)
	}
}

// processesNaming lists the processes whose command line names dir: every
// process the demo starts (etcd, kube-apiserver, replicas, watch) has its
// data, kubeconfig or status file there.
func processesNaming(dir string) []string {
	procs, _ := os.ReadDir("/proc")
	var out []string
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		out = append(out, p.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	return out
}

// demoEvent is the part of a watch JSON line the test reads.
type demoEvent struct {
	Type  string `json:"type"`
	From  string `json:"from"`
	To    string `json:"to"`
	Lease struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Holder    string `json:"holder"`
	} `json:"lease"`
}

// TestDemo runs the demo as CI and users without a terminal do, and as a
// user at a terminal does, and checks it shows a hand-over and cleans up
// after itself however it ends.
func TestDemo(t *testing.T) {
	demoBin := buildDemo(t)

	t.Run("json for a duration", func(t *testing.T) {
		// A SIGTERM at 5s, a planned hand-over at about 10s, a SIGKILL
		// at about 15s (the Lease then expires in 6s).
		d := newDemo(t, demoBin, "-duration", "22s", "-interval", "5s", "-o", "json")
		d.start()
		d.wait(2 * time.Minute)

		var transitions []demoEvent
		sc := bufio.NewScanner(strings.NewReader(d.stdout.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev demoEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("stdout line is not JSON (%v): %s", err, sc.Text())
			}
			if ev.Type == "transition" {
				transitions = append(transitions, ev)
			}
		}
		if len(transitions) == 0 {
			t.Fatalf("no transition event in the demo's output:\n%s", d.stdout.String())
		}
		shardMoves := 0
		for _, ev := range transitions {
			who := "replica-"
			switch {
			case ev.Lease.Namespace == "demo" && ev.Lease.Name == "demo":
			case ev.Lease.Namespace == "demo" && strings.HasPrefix(ev.Lease.Name, "jobs-shard-"):
				who = "worker-" // the shard group's
				shardMoves++
			default:
				t.Errorf("transition on Lease %s/%s, want demo/demo or a shard of demo/jobs", ev.Lease.Namespace, ev.Lease.Name)
			}
			if !strings.HasPrefix(ev.From, who) || !strings.HasPrefix(ev.To, who) || ev.From == ev.To {
				t.Errorf("transition on %s from %q to %q: want one %s to another", ev.Lease.Name, ev.From, ev.To, who)
			}
		}
		if shardMoves == 0 {
			t.Errorf("no shard of the group moved as its workers rolled")
		}
		if !strings.Contains(d.stderr.String(), "by a planned hand-over") {
			t.Errorf("the demo did not show a planned hand-over; its stderr:\n%s", d.stderr.String())
		}
		if !strings.Contains(d.stderr.String(), "KUBECONFIG="+d.tmp) {
			t.Errorf("the demo did not print its kubeconfig's path (KUBECONFIG=%s...)", d.tmp)
		}
		d.checkNothingLeft()
	})

	t.Run("SIGTERM stops it", func(t *testing.T) {
		d := newDemo(t, demoBin, "-o", "json")
		d.start()
		waitFor(t, time.Minute, "the first JSON events", func() bool {
			return strings.Contains(d.stdout.String(), `"type":"synced"`)
		})
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		d.wait(30 * time.Second)
		d.checkNothingLeft()
	})

	t.Run("a failing replica ends it", func(t *testing.T) {
		// A "sidecar" that exits at once: the demo must say which replica
		// failed and how, exit 1 rather than wait, and still clean up.
		d := newDemo(t, demoBin, "-o", "json", "-bin", "/bin/false")
		d.start()
		select {
		case <-d.exited:
		case <-time.After(time.Minute):
			t.Fatal("the demo still runs a minute after its replicas failed")
		}
		var ee *exec.ExitError
		if !errors.As(d.err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("demo ended with %v, want exit code 1", d.err)
		}
		if !regexp.MustCompile(`demo: replica-\d exited on its own \(exit status 1\)`).MatchString(d.stderr.String()) {
			t.Errorf("stderr does not name the failed replica and its exit status:\n%s", d.stderr.String())
		}
		d.checkNothingLeft()
	})

	t.Run("q quits the dashboard", func(t *testing.T) {
		d := newDemo(t, demoBin) // auto: a terminal gets the dashboard
		tty, err := pty.StartWithSize(d.cmd, &pty.Winsize{Rows: 30, Cols: 120})
		if err != nil {
			t.Fatalf("starting the demo on a pseudo-terminal: %v", err)
		}
		defer tty.Close()
		go func() {
			d.err = d.cmd.Wait()
			close(d.exited)
		}()
		screen := &proc.Buffer{}
		go func() { _, _ = io.Copy(screen, tty) }() // ends with EIO once the demo exits
		// What the dashboard drew: everything after it took the alternate
		// screen (the demo's own lines come before).
		dashboard := func() string {
			_, after, _ := strings.Cut(screen.String(), "\x1b[?1049h")
			return after
		}
		waitFor(t, time.Minute, "the dashboard to show a replica holding the Lease", func() bool {
			return strings.Contains(dashboard(), "replica-")
		})
		time.Sleep(time.Second) // let the dashboard read its first events
		if _, err := tty.Write([]byte("q")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("the demo did not end within 30s of q; screen:\n%s", screen.String())
		}
		if d.err != nil {
			t.Fatalf("demo ended with %v; screen:\n%s", d.err, screen.String())
		}
		if !strings.Contains(screen.String(), "dashboard closed: stopping") {
			t.Errorf("the demo did not report what it did after the dashboard closed; screen:\n%s", screen.String())
		}
		d.checkNothingLeft()
	})
}
