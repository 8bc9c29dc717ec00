package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
)

// startWatch opens the dashboard on the terminal, or streams JSON lines to
// stdout. The dashboard needs the terminal, so it stays in the demo's
// process group; the demo's own lines are held back while it runs.
func (d *demo) startWatch(stdout, stderr io.Writer) (*proc.Process, error) {
	o := proc.Options{Path: d.bin, Args: []string{"--kubeconfig", d.kubeconfig, "watch", "-n", namespace}}
	if d.opts.Output == "tui" {
		o.Args = append(o.Args, "-o", "tui", "--log-file", filepath.Join(d.tmp, "watch.log"))
		o.Stdin, o.Stdout, o.Stderr = os.Stdin, stdout, stderr
		d.say.printf("opening the dashboard: a failover every %v; q quits", d.opts.Interval)
		d.say.hold()
	} else {
		o.Args = append(o.Args, "-o", "json")
		o.Stdout, o.Stderr = stdout, stderr
		d.say.printf("streaming the watch's JSON events on stdout; a failover every %v", d.opts.Interval)
	}
	w, err := proc.Start(o)
	if err != nil {
		d.say.resume()
		return nil, fmt.Errorf("starting leader-elector watch: %w", err)
	}
	return w, nil
}

// watchGrace is how long the watch may take to end on SIGTERM.
const watchGrace = 5 * time.Second

// stopWatch ends the watch with SIGTERM (SIGKILL after watchGrace) if it
// still runs.
func stopWatch(w *proc.Process) { w.Stop(syscall.SIGTERM, watchGrace) }
