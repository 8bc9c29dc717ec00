package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// watcher is the `leader-elector watch` process showing the demo's Lease.
type watcher struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// startWatch opens the dashboard on the terminal, or streams JSON lines to
// stdout. The dashboard needs the terminal, so it stays in the demo's
// process group; the demo's own lines are held back while it runs.
func (d *demo) startWatch(stdout, stderr io.Writer) (*watcher, error) {
	args := []string{"--kubeconfig", d.kubeconfig, "watch", "-n", namespace}
	cmd := exec.Command(d.bin)
	if d.opts.Output == "tui" {
		args = append(args, "-o", "tui", "--log-file", filepath.Join(d.tmp, "watch.log"))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		d.say.printf("opening the dashboard: a failover every %v; q quits", d.opts.Interval)
		d.say.hold()
	} else {
		args = append(args, "-o", "json")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		d.say.printf("streaming the watch's JSON events on stdout; a failover every %v", d.opts.Interval)
	}
	cmd.Args = append(cmd.Args, args...)
	cmd.SysProcAttr = childAttrs(false)
	if err := cmd.Start(); err != nil {
		d.say.resume()
		return nil, fmt.Errorf("starting leader-elector watch: %w", err)
	}
	w := &watcher{cmd: cmd, exited: make(chan struct{})}
	go func() {
		w.err = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// stop ends the watch with SIGTERM (SIGKILL after 5s) if it still runs.
func (w *watcher) stop() {
	select {
	case <-w.exited:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
}
