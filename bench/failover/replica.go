package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// impl is one elector under test: how to start a replica of it.
type impl struct {
	name string
	bin  string
	args func(lease, ns, id, status, kubeconfig string) []string
}

func oursImpl(bin string) impl {
	return impl{name: "ours", bin: bin, args: func(lease, ns, id, status, kc string) []string {
		return []string{"elect", "--kubeconfig=" + kc, "--lease-name=" + lease, "--namespace=" + ns,
			"--identity=" + id, "--status-file=" + status, "--http-addr="}
	}}
}

func baselineImpl(bin string) impl {
	return impl{name: "baseline", bin: bin, args: func(lease, ns, id, status, kc string) []string {
		return []string{"--kubeconfig=" + kc, "--lease-name=" + lease, "--namespace=" + ns,
			"--identity=" + id, "--status-file=" + status}
	}}
}

// replica is one running elector process behind its own counting proxy.
type replica struct {
	id     string
	status string
	cmd    *exec.Cmd
	proxy  *countingProxy
	exited chan struct{}
}

// leading reports whether the replica's status file exists.
func (r *replica) leading() bool {
	_, err := os.Stat(r.status)
	return err == nil
}

func (r *replica) signal(sig syscall.Signal) error { return r.cmd.Process.Signal(sig) }

// wait waits for the process to end, up to timeout.
func (r *replica) wait(timeout time.Duration) error {
	select {
	case <-r.exited:
		return nil
	case <-time.After(timeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
		return fmt.Errorf("replica %s did not exit within %s", r.id, timeout)
	}
}

// cpuSeconds returns the process's user+system CPU time from /proc.
func (r *replica) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on every Linux we run on.
const clockTicks = 100

// rssMiB returns the process's resident set size from /proc.
func (r *replica) rssMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", r.cmd.Process.Pid)
}

// startReplica starts one replica of im in dir, talking to the API server
// through a new counting proxy.
func (b *bench) startReplica(im impl, ns, lease, id string) (*replica, error) {
	dir := filepath.Join(b.dir, im.name, ns, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := startProxy(b.target, b.transport)
	if err != nil {
		return nil, fmt.Errorf("starting the proxy for %s: %w", id, err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kc, p.addr, ns); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	r := &replica{id: id, status: filepath.Join(dir, "status"), proxy: p, exited: make(chan struct{})}
	r.cmd = exec.Command(im.bin, im.args(lease, ns, id, r.status, kc)...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = dieWithParent()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", im.bin, err)
	}
	go func() {
		_ = r.cmd.Wait()
		logf.Close()
		p.close()
		close(r.exited)
	}()
	return r, nil
}

func writeKubeconfig(path, server, ns string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: %s
users:
- name: bench
  user: {}
contexts:
- name: bench
  context: {cluster: bench, user: bench, namespace: %s}
current-context: bench
`, server, ns)
	return os.WriteFile(path, []byte(kc), 0o600)
}
