package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// replica is one `leader-elector elect` process, restartable under the same
// identity, status file and address, as a restarted container would be.
type replica struct {
	id         string
	statusFile string
	logPath    string
	bin        string
	args       []string
	failed     chan<- error

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	stopping bool // we asked it to end: its exit is no failure
}

func (d *demo) startReplicas() error {
	for i := 1; i <= d.opts.Replicas; i++ {
		id := replicaID(i)
		dir := filepath.Join(d.tmp, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		r := &replica{
			id:         id,
			statusFile: filepath.Join(dir, "status"),
			logPath:    filepath.Join(d.tmp, id+".log"),
			bin:        d.bin,
			failed:     d.failed,
		}
		r.args = []string{
			"--kubeconfig", d.kubeconfig, "elect",
			"--lease-name", leaseName, "--namespace", namespace,
			"--identity", id, "--status-file", r.statusFile,
			"--http-addr", "127.0.0.1:" + strconv.Itoa(port),
			"--lease-duration", leaseDuration.String(),
			"--renew-deadline", renewDeadline.String(),
			"--retry-period", retryPeriod.String(),
		}
		d.replicas = append(d.replicas, r)
		if err := r.start(); err != nil {
			return err
		}
	}
	d.say.printf("started %d replicas competing for Lease %s/%s; their logs: %s/replica-*.log",
		len(d.replicas), namespace, leaseName, d.tmp)
	return nil
}

// replicaID names the i-th replica (from 1).
func replicaID(i int) string { return fmt.Sprintf("replica-%d", i) }

// start runs the process; if it later ends without stop, the error goes to
// r.failed, since elect only exits when told to (or on bad configuration).
func (r *replica) start() error {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", r.logPath, err)
	}
	cmd := exec.Command(r.bin, r.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a ctrl+c at the terminal reaches the demo,
	// which stops the replicas itself, not each replica on its own.
	cmd.SysProcAttr = childAttrs(true)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", r.id, err)
	}
	exited := make(chan struct{})
	r.mu.Lock()
	r.cmd, r.exited, r.stopping = cmd, exited, false
	r.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		r.mu.Lock()
		asked := r.stopping
		r.mu.Unlock()
		close(exited)
		if !asked {
			select {
			case r.failed <- fmt.Errorf("%s exited on its own (%s); last lines of its log:\n%s", r.id, describeExit(err), tail(r.logPath, 8)):
			default:
			}
		}
	}()
	return nil
}

// stop sends sig and waits for the process to end (SIGKILL after 10s, so a
// wedged replica cannot hold the demo open).
func (r *replica) stop(sig syscall.Signal) {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.stopping = true
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// running reports whether the process is up.
func (r *replica) running() bool {
	r.mu.Lock()
	exited := r.exited
	r.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// leads reports whether the replica is up and its status file exists: the
// sidecar's promise is that the file exists exactly while it leads. A
// killed leader's file outlives it (nobody is left to remove it) until the
// restarted replica cleans it up at start.
func (r *replica) leads() bool {
	if !r.running() {
		return false
	}
	_, err := os.Stat(r.statusFile)
	return err == nil
}

// stopReplicas stops every replica at once with SIGTERM, as a rollout would.
func (d *demo) stopReplicas() {
	var wg sync.WaitGroup
	for _, r := range d.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop(syscall.SIGTERM)
		}()
	}
	wg.Wait()
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the replica binds it; the replica then exits with a bind
// error, which the demo reports.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "  (empty)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// describeExit turns cmd.Wait's error into words.
func describeExit(err error) string {
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
}
