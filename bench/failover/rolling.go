package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/replica"
	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// The rolling-update rhythm (issue 11, defect 8): hand-overs 10s apart hide
// what a rollout does to an elector. Three replicas; SIGTERM to the leader;
// once another leads, the replaced replica is restarted (a new pod) and 1s
// later the next SIGTERM goes to whoever leads then. Each trial's hand-over
// is the time from the old leader's status file vanishing to the new
// leader's appearing: what an app polling the file sees.

// rollingMode is one way of running an elector through the rhythm.
type rollingMode struct {
	im   impl
	desc string
	na   string // why it cannot run with this binary, or ""
	// goal judges the hand-overs: the line to print and whether it is met.
	goal func(hs []time.Duration) (string, bool)
}

// rollingResult is one mode's figures.
type rollingResult struct {
	mode      rollingMode
	handovers []time.Duration
	overlaps  int // polls that saw two status files
	// requests are every replica's over the hand-overs, from the first
	// SIGTERM until 1s after the last replacement started.
	requests reqcount.Counts
}

// defaultMargin is lease-duration - renew-deadline - retry-period with the
// defaults (15s - 10s - 2s) the bench runs: the default release delay.
const defaultMargin = 3 * time.Second

// fastGoal is issue 11's goal for the fast hand-over: exec mode and
// --release-delay 0 keep the graceful p95 within 0.3s.
func fastGoal(hs []time.Duration) (string, bool) {
	p := benchkit.Percentile(hs, 95)
	return fmt.Sprintf("graceful p95 %.3fs <= 0.3s", secs(p)), len(hs) > 0 && p <= 300*time.Millisecond
}

// marginGoal: with the default release delay every hand-over keeps the
// margin an app polling the file relies on.
func marginGoal(hs []time.Duration) (string, bool) {
	if len(hs) == 0 {
		return "every hand-over >= the margin: no hand-over", false
	}
	m := slices.Min(hs)
	return fmt.Sprintf("every hand-over >= the margin %.0fs (smallest %.3fs)", secs(defaultMargin), secs(m)), m >= defaultMargin
}

// rollingModes lists the modes to run; ours is the binary under test.
func rollingModes(ours, base string) []rollingMode {
	var na string
	if !hasFlag(ours, "--release-delay") {
		na = "binary lacks --release-delay"
	}
	return []rollingMode{
		{im: oursWith(ours, "ours-exec", "--", "sleep", "86400"), desc: "ours, exec mode (-- sleep 86400)", goal: fastGoal},
		{im: oursWith(ours, "ours-rd0", "--release-delay=0"), desc: "ours, --release-delay 0", na: na, goal: fastGoal},
		{im: oursWith(ours, "ours-default"), desc: "ours, default release delay", goal: marginGoal},
		{im: baselineImpl(base), desc: "baseline (client-go, ReleaseOnCancel)"},
	}
}

// oursWith is our elector with extra arguments after the usual ones (so
// they may end with "-- CMD").
func oursWith(bin, name string, extra ...string) impl {
	im := oursImpl(bin)
	args := im.Args
	im.Name = name
	im.Args = func(e replica.Elect) []string {
		e.Extra = append(e.Extra, extra...)
		return args(e)
	}
	return im
}

// hasFlag reports whether `bin elect --help` mentions flag.
func hasFlag(bin, flag string) bool {
	out, _ := exec.Command(bin, "elect", "--help").CombinedOutput()
	return strings.Contains(string(out), flag)
}

// rolling runs n hand-overs of im in the rolling-update rhythm.
func (b *bench) rolling(m rollingMode, n int) (rollingResult, error) {
	res := rollingResult{mode: m}
	e, err := b.startElection(m.im, "rolling", 3)
	if err != nil {
		return res, err
	}
	defer e.stop()
	var before reqcount.Counts
	for i := range n {
		old, err := e.waitLeader(time.Minute)
		if err != nil {
			return res, err
		}
		if i == 0 {
			time.Sleep(b.settle) // once: every replica follows
			before = e.requests()
		}
		if err := old.Signal(syscall.SIGTERM); err != nil {
			return res, fmt.Errorf("signalling %s: %w", old.ID(), err)
		}
		start := time.Now()
		var vanished, appeared time.Time
		for appeared.IsZero() {
			now := time.Now()
			oldThere := old.HasStatusFile()
			if !oldThere && vanished.IsZero() {
				vanished = now
			}
			for _, r := range e.replicas {
				if r != old && r.HasStatusFile() {
					appeared = now
					if oldThere {
						res.overlaps++
					}
				}
			}
			if now.Sub(start) > 2*time.Minute {
				return res, fmt.Errorf("rolling trial %d: no new leader within 2 minutes", i)
			}
			time.Sleep(time.Millisecond)
		}
		if vanished.IsZero() { // both at once: an overlap, counted above
			vanished = appeared
		}
		took := appeared.Sub(vanished)
		res.handovers = append(res.handovers, took)
		progress("%s: rolling trial %d: %s", m.im.Name, i+1, took.Round(time.Millisecond))
		if err := old.wait(30 * time.Second); err != nil {
			return res, err
		}
		e.remove(old)
		if err := e.add(); err != nil { // the replaced replica, restarted
			return res, err
		}
		time.Sleep(time.Second)
	}
	res.requests = e.requests().Sub(before)
	return res, nil
}
