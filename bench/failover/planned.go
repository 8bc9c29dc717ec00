package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/types"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/elect"
)

// A planned hand-over (issue 23): an operator asks the holder to hand the
// Lease to a named follower (the annotation `leader-elector handover --to`
// writes). Measured from the request to the named replica's status file:
// the holder notices, removes its file, waits the release delay, releases;
// the named replica takes the Lease at once and shows its file. client-go's
// elector has no such request: it is not measured.

// plannedMode is one release delay to measure planned hand-overs with.
type plannedMode struct {
	im   impl
	desc string
}

func plannedModes(ours string) []plannedMode {
	return []plannedMode{
		{im: oursWith(ours, "planned-rd0", "--release-delay=0"), desc: "ours, --release-delay 0"},
		{im: oursWith(ours, "planned-default"), desc: "ours, default release delay (3s)"},
	}
}

// plannedResult is one mode's figures.
type plannedResult struct {
	mode     plannedMode
	took     []time.Duration
	overlaps int // polls that saw two status files
}

// planned runs n planned hand-overs among 3 replicas, each to a follower
// the run picks at random.
func (b *bench) planned(m plannedMode, n int) (plannedResult, error) {
	res := plannedResult{mode: m}
	e, err := b.startElection(m.im, "planned", 3)
	if err != nil {
		return res, err
	}
	defer e.stop()
	leases := b.Admin.CoordinationV1().Leases(e.ns)
	for i := range n {
		old, err := e.waitLeader(time.Minute)
		if err != nil {
			return res, err
		}
		time.Sleep(b.settle + rand.N(retryPeriod))
		var followers []*member
		for _, r := range e.replicas {
			if r != old {
				followers = append(followers, r)
			}
		}
		to := followers[rand.IntN(len(followers))]
		req := elect.HandoverRequest{ID: fmt.Sprintf("bench-%d", i), To: to.ID(), By: "bench", At: time.Now().UTC()}
		start := time.Now()
		if _, err := leases.Patch(context.Background(), e.lease, types.MergePatchType, req.AskPatch(), metav1.PatchOptions{}); err != nil {
			return res, fmt.Errorf("asking for a hand-over: %w", err)
		}
		for !to.HasStatusFile() {
			if old.HasStatusFile() && len(e.leaders()) > 1 {
				res.overlaps++
			}
			if time.Since(start) > time.Minute {
				return res, fmt.Errorf("planned hand-over %d to %s: no status file within a minute", i, to.ID())
			}
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		res.took = append(res.took, took)
		progress("%s: planned hand-over %d: %s -> %s in %s", m.im.Name, i+1, old.ID(), to.ID(), took.Round(time.Millisecond))
	}
	return res, nil
}

// runPlanned measures n planned hand-overs per mode, one mode at a time,
// and prints them.
func (b *bench) runPlanned(ours string, n int) error {
	var rs []plannedResult
	for _, m := range plannedModes(ours) {
		progress("%s: %d planned hand-overs", m.im.Name, n)
		r, err := b.planned(m, n)
		if err != nil {
			return fmt.Errorf("%s: %w", m.im.Name, err)
		}
		rs = append(rs, r)
	}
	printPlanned(os.Stdout, rs, n)
	return nil
}

func printPlanned(w io.Writer, rs []plannedResult, n int) {
	fmt.Fprintf(w, "\nplanned hand-over: 3 replicas (defaults 15s/10s/2s), a request naming a follower; %d each\n", n)
	fmt.Fprintf(w, "time = the request written -> the named replica's status file there\n\n")
	latencyHeader(w)
	for _, r := range rs {
		latencyRow(w, r.mode.desc, r.took, r.overlaps)
	}
	fmt.Fprintf(w, "%-40s n/a (client-go's elector has no planned hand-over)\n", "baseline (client-go)")
}
