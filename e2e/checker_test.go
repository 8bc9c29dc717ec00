package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The chaos checker, in the spirit of Jepsen: it reads what every replica
// claims, continuously, and judges the history afterwards.
//
// What counts as a claim of leadership. A replica claims to lead while its
// status file exists (what the original's shell loop tests) and while its
// /leader endpoint answers isLeader=true. A claim counts only while the
// replica is acting: its process is running (a process being shut down,
// SIGTERM sent and not yet exited, is running), not stopped by SIGSTOP, not
// within wakeGrace of its SIGCONT, and not a fresh process that found a dead
// predecessor's file at its path and has not yet shown (by answering on its
// endpoint, which it opens only after its start-up clean-up) that it removed
// it. A frozen or dead process cannot remove its file; what the sidecar can
// promise is about replicas that run. Reads of a file that is not a claim are
// counted as frozen or stale reads, and a file found after a clean exit (exit
// 0) is a violation.
//
// Sampling resolution. Files are read in sweeps, every candidate's file once
// per sweep, a sweep every ~2 ms (the longest gap between sweeps is
// measured and reported). Two claims read in the same sweep are an overlap;
// an overlap shorter than the gap between two sweeps can go unseen. The
// endpoint is polled every 50 ms per candidate; an endpoint overlap is
// reported only when it is proven: one replica's claim was answered inside
// the span over which the other's consecutive answers of one term
// bracketed it.
type chaosChecker struct {
	cands     []*chaosCandidate
	wakeGrace time.Duration
	client    *http.Client

	stop chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	began       time.Time
	sweeps      int
	reads       int
	frozenReads int
	staleReads  int
	lastSweep   time.Time
	maxSweepGap time.Duration
	open        []*claimRun // per candidate: the file claim being read now
	runs        []claimRun  // closed file claims
	pairOpen    map[[2]int]bool
	overlaps    []string
	httpSamples int
	httpOpen    []*httpRun
	httpRuns    [][]httpRun // per candidate
	wakes       []wakeWatch
	maxWake     time.Duration
	wakeCount   int
	violations  []string
	notes       map[string]int
}

// claimRun is one uninterrupted run of reads finding a candidate's status
// file while it was acting: from the start of the first such read to the end
// of the last.
type claimRun struct {
	cand        int
	first, last time.Time
}

// httpRun is consecutive isLeader answers of one term (one acquireTime).
type httpRun struct {
	term        string
	first, last [2]time.Time // [request sent, answer read]
	n           int
}

// wakeWatch measures how long a replica woken by SIGCONT keeps its file.
type wakeWatch struct {
	cand   int
	contAt time.Time
}

// chaosCandidate is one elect replica across its restarts: where it keeps
// its file and endpoint, its fault proxy, and the life of its current
// process as the harness drove it. The harness records a change before
// acting on it (SIGSTOP, SIGKILL) or after (SIGCONT, exec), so a read that
// overlaps a change is judged by the more conservative state.
type chaosCandidate struct {
	idx        int
	id         string
	statusFile string
	httpAddr   string
	kubeconfig string
	proxy      *faultProxy

	mu         sync.Mutex
	p          *proc
	incarn     int
	startedAt  time.Time
	epoch      uint64 // bumped on every change: a read spanning one is not judged
	stopped    bool
	contAt     time.Time
	termAt     time.Time
	killAt     time.Time
	exited     bool
	exitAt     time.Time
	cleanExit  bool // exited 0 after SIGTERM: its file must be gone
	staleStart bool
	answered   bool // the current process has answered on its endpoint: its start-up is done
}

// acting reports whether the candidate's claims count at now, why not, and
// the state's epoch.
func (c *chaosCandidate) acting(now time.Time, wakeGrace time.Duration) (bool, string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.p == nil:
		return false, "not started", c.epoch
	case c.exited && c.cleanExit:
		return false, "exited cleanly", c.epoch
	case !c.killAt.IsZero() || c.exited:
		return false, "dead", c.epoch
	case c.stopped:
		return false, "stopped", c.epoch
	case !c.contAt.IsZero() && now.Sub(c.contAt) < wakeGrace:
		return false, "waking", c.epoch
	case c.staleStart:
		return false, "starting over a stale file", c.epoch
	}
	return true, "", c.epoch
}

func (c *chaosCandidate) change(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	c.epoch++
}

func newChaosChecker(cands []*chaosCandidate, wakeGrace time.Duration) *chaosChecker {
	n := len(cands)
	return &chaosChecker{
		cands:     cands,
		wakeGrace: wakeGrace,
		client: &http.Client{
			Timeout:   time.Second,
			Transport: &http.Transport{DisableKeepAlives: true},
		},
		stop:     make(chan struct{}),
		open:     make([]*claimRun, n),
		pairOpen: map[[2]int]bool{},
		httpOpen: make([]*httpRun, n),
		httpRuns: make([][]httpRun, n),
	}
}

// Start begins sampling files and endpoints.
func (k *chaosChecker) Start() {
	k.began = time.Now()
	k.wg.Add(1 + len(k.cands))
	go k.sweepLoop()
	for i := range k.cands {
		go k.pollLoop(i)
	}
}

// Stop ends sampling and closes every open claim.
func (k *chaosChecker) Stop() {
	close(k.stop)
	k.wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.cands {
		k.closeRunLocked(i)
		k.closeHTTPLocked(i)
	}
}

// note counts an event worth reporting that is not a violation.
func (k *chaosChecker) note(what string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.notes == nil {
		k.notes = map[string]int{}
	}
	k.notes[what]++
}

func (k *chaosChecker) violatef(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.violateLocked(format, args...)
}

func (k *chaosChecker) violateLocked(format string, args ...any) {
	msg := fmt.Sprintf("%6.2fs: ", time.Since(k.began).Seconds()) + fmt.Sprintf(format, args...)
	k.violations = append(k.violations, msg)
}

// fileRead is one read of a status file.
type fileRead struct {
	t0, t1  time.Time
	present bool
	content string
	err     error
	acting  bool
	why     string
}

func (k *chaosChecker) read(c *chaosCandidate) fileRead {
	before := time.Now()
	ok0, why0, ep0 := c.acting(before, k.wakeGrace)
	b, err := os.ReadFile(c.statusFile)
	after := time.Now()
	ok1, why1, ep1 := c.acting(after, k.wakeGrace)
	r := fileRead{t0: before, t1: after, acting: ok0 && ok1 && ep0 == ep1, why: why0 + why1}
	if r.why == "" && !r.acting {
		r.why = "changed during the read"
	}
	switch {
	case err == nil:
		r.present, r.content = true, string(b)
	case errors.Is(err, fs.ErrNotExist):
	default:
		r.err = err
	}
	return r
}

func (k *chaosChecker) sweepLoop() {
	defer k.wg.Done()
	reads := make([]fileRead, len(k.cands))
	for {
		select {
		case <-k.stop:
			return
		default:
		}
		for i, c := range k.cands {
			reads[i] = k.read(c)
		}
		k.judgeSweep(reads)
		time.Sleep(2 * time.Millisecond)
	}
}

// judgeSweep records one sweep: content checks, claim runs, overlaps, the
// wake of paused replicas.
func (k *chaosChecker) judgeSweep(reads []fileRead) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := reads[0].t0
	if !k.lastSweep.IsZero() {
		k.maxSweepGap = max(k.maxSweepGap, now.Sub(k.lastSweep))
	}
	k.lastSweep = now
	k.sweeps++
	var claiming []int
	for i, r := range reads {
		c := k.cands[i]
		switch {
		case r.err != nil:
			k.violateLocked("reading %s's status file: %v", c.id, r.err)
			k.closeRunLocked(i)
			continue
		case !r.present:
			k.closeRunLocked(i)
			continue
		}
		k.reads++
		if r.content != c.id {
			k.violateLocked("%s's status file held %q, want exactly %q (empty, partial or foreign)", c.id, r.content, c.id)
		}
		if !r.acting {
			k.closeRunLocked(i)
			if strings.Contains(r.why, "exited cleanly") {
				k.violateLocked("%s's status file exists after its process exited 0", c.id)
			}
			if strings.Contains(r.why, "stopped") || strings.Contains(r.why, "waking") {
				k.frozenReads++
			} else {
				k.staleReads++
			}
			continue
		}
		claiming = append(claiming, i)
		if run := k.open[i]; run != nil {
			run.last = r.t1
		} else {
			k.open[i] = &claimRun{cand: i, first: r.t0, last: r.t1}
		}
	}
	for w := 0; w < len(k.wakes); {
		wk := k.wakes[w]
		if r := reads[wk.cand]; !r.present && r.t0.After(wk.contAt) {
			k.maxWake = max(k.maxWake, r.t1.Sub(wk.contAt))
			k.wakeCount++
			k.wakes = slices.Delete(k.wakes, w, w+1)
			continue
		}
		if now.Sub(wk.contAt) > 10*time.Second { // it kept or retook the Lease
			k.wakes = slices.Delete(k.wakes, w, w+1)
			continue
		}
		w++
	}
	for a := 0; a < len(claiming); a++ {
		for b := a + 1; b < len(claiming); b++ {
			pair := [2]int{claiming[a], claiming[b]}
			if !k.pairOpen[pair] {
				k.pairOpen[pair] = true
				k.overlaps = append(k.overlaps, fmt.Sprintf("%6.2fs: status files of %s and %s both read in one sweep",
					now.Sub(k.began).Seconds(), k.cands[pair[0]].id, k.cands[pair[1]].id))
			}
		}
	}
	for pair := range k.pairOpen {
		if !slices.Contains(claiming, pair[0]) || !slices.Contains(claiming, pair[1]) {
			delete(k.pairOpen, pair)
		}
	}
}

func (k *chaosChecker) closeRunLocked(i int) {
	if run := k.open[i]; run != nil {
		k.runs = append(k.runs, *run)
		k.open[i] = nil
	}
}

// watchWake asks the checker to time how long c keeps its file after the
// SIGCONT sent at contAt.
func (k *chaosChecker) watchWake(c *chaosCandidate, contAt time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.wakes = append(k.wakes, wakeWatch{cand: c.idx, contAt: contAt})
}

// leaderAnswer is the part of /leader the checker reads.
type leaderAnswer struct {
	Leader           string     `json:"leader"`
	Identity         string     `json:"identity"`
	IsLeader         bool       `json:"isLeader"`
	LeaseTransitions int32      `json:"leaseTransitions"`
	AcquireTime      *time.Time `json:"acquireTime"`
}

// askLeader GETs c's /leader.
func (k *chaosChecker) askLeader(c *chaosCandidate) (leaderAnswer, error) {
	var a leaderAnswer
	resp, err := k.client.Get("http://" + c.httpAddr + "/leader")
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, fmt.Errorf("reading /leader: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("/leader answered %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("decoding /leader %q: %w", body, err)
	}
	return a, nil
}

func (k *chaosChecker) pollLoop(i int) {
	defer k.wg.Done()
	c := k.cands[i]
	for {
		select {
		case <-k.stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		s := time.Now()
		okS, _, epS := c.acting(s, k.wakeGrace)
		a, err := k.askLeader(c)
		e := time.Now()
		okE, _, epE := c.acting(e, k.wakeGrace)
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			k.mu.Lock()
			k.closeHTTPLocked(i)
			k.mu.Unlock()
			continue // not running, stopped, or not listening yet
		}
		// It answered, so its start-up clean-up is done (the endpoint opens
		// after it): a file seen from now on is this process's own.
		c.change(func() {
			if s.After(c.startedAt) {
				c.staleStart, c.answered = false, true
			}
		})
		k.mu.Lock()
		k.httpSamples++
		switch {
		case err != nil:
			k.violateLocked("%s's /leader: %v", c.id, err)
			k.closeHTTPLocked(i)
		case a.Identity != c.id && (a.Identity != "" || a.IsLeader || a.Leader != ""):
			// Before its first observation the endpoint may answer an
			// all-empty state; anything else must carry its identity.
			k.violateLocked("%s's /leader names itself %q", c.id, a.Identity)
		case !a.IsLeader || !okS || !okE || epS != epE:
			k.closeHTTPLocked(i)
		default:
			term := fmt.Sprint(a.AcquireTime, "/", a.LeaseTransitions)
			run := k.httpOpen[i]
			if run != nil && run.term != term {
				k.closeHTTPLocked(i)
				run = nil
			}
			if run == nil {
				k.httpOpen[i] = &httpRun{term: term, first: [2]time.Time{s, e}, last: [2]time.Time{s, e}, n: 1}
			} else {
				run.last = [2]time.Time{s, e}
				run.n++
			}
		}
		k.mu.Unlock()
	}
}

func (k *chaosChecker) closeHTTPLocked(i int) {
	if run := k.httpOpen[i]; run != nil {
		k.httpRuns[i] = append(k.httpRuns[i], *run)
		k.httpOpen[i] = nil
	}
}

// httpOverlaps finds proven overlaps between endpoint claims: one claim's
// answer lies wholly inside the span another's answers of one term
// bracket (from the end of its first answer to the start of its last).
func (k *chaosChecker) httpOverlaps() []string {
	var out []string
	for a := range k.httpRuns {
		for b := range k.httpRuns {
			if a == b {
				continue
			}
			for _, ra := range k.httpRuns[a] {
				if ra.n < 2 {
					continue
				}
				from, to := ra.first[1], ra.last[0]
				for _, rb := range k.httpRuns[b] {
					// rb's claim held at some instant of each of its answers; if
					// any answer lies inside ra's span, both claimed at once.
					for _, ans := range [][2]time.Time{rb.first, rb.last} {
						if ans[0].After(from) && ans[1].Before(to) {
							out = append(out, fmt.Sprintf("%6.2fs: /leader of %s said isLeader within %s's term %s",
								ans[0].Sub(k.began).Seconds(), k.cands[b].id, k.cands[a].id, ra.term))
						}
					}
				}
			}
		}
	}
	return out
}

// chaosReport is what one run found.
type chaosReport struct {
	Sweeps, Reads, FrozenReads, StaleReads, HTTPSamples int
	MaxSweepGap                                         time.Duration
	Terms                                               int // file claim runs
	Handovers                                           int // claim runs whose candidate differs from the previous run's
	FileOverlaps, HTTPOverlaps                          []string
	MaxGap                                              time.Duration // longest time with no acting claim, first claim to last
	MaxWake                                             time.Duration
	Wakes                                               int
	Violations                                          []string
	Notes                                               map[string]int
}

// Report judges the recorded history. Call after Stop.
func (k *chaosChecker) Report() chaosReport {
	k.mu.Lock()
	defer k.mu.Unlock()
	runs := slices.Clone(k.runs)
	slices.SortFunc(runs, func(a, b claimRun) int { return a.first.Compare(b.first) })
	r := chaosReport{
		Sweeps: k.sweeps, Reads: k.reads, FrozenReads: k.frozenReads, StaleReads: k.staleReads,
		HTTPSamples: k.httpSamples, MaxSweepGap: k.maxSweepGap, Terms: len(runs),
		FileOverlaps: slices.Clone(k.overlaps), HTTPOverlaps: k.httpOverlaps(),
		MaxWake: k.maxWake, Wakes: k.wakeCount, Violations: slices.Clone(k.violations), Notes: maps.Clone(k.notes),
	}
	var covered time.Time
	for i, run := range runs {
		if i > 0 && run.cand != runs[i-1].cand {
			r.Handovers++
		}
		if i > 0 && run.first.After(covered) {
			r.MaxGap = max(r.MaxGap, run.first.Sub(covered))
		}
		if run.last.After(covered) {
			covered = run.last
		}
	}
	return r
}

// String prints the figures, one per line.
func (r chaosReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "status-file reads: %d in %d sweeps (longest gap between sweeps %v), %d while frozen or waking, %d stale (dead or starting)\n",
		r.Reads, r.Sweeps, r.MaxSweepGap.Round(time.Millisecond), r.FrozenReads, r.StaleReads)
	fmt.Fprintf(&b, "/leader answers: %d\n", r.HTTPSamples)
	fmt.Fprintf(&b, "leadership terms seen: %d, hand-overs to another replica: %d\n", r.Terms, r.Handovers)
	fmt.Fprintf(&b, "overlaps: %d of status files, %d of /leader claims\n", len(r.FileOverlaps), len(r.HTTPOverlaps))
	fmt.Fprintf(&b, "max leaderless gap (no acting replica's file): %v\n", r.MaxGap.Round(time.Millisecond))
	if r.Wakes > 0 {
		fmt.Fprintf(&b, "paused replicas' files gone after SIGCONT: %d, slowest %v\n", r.Wakes, r.MaxWake.Round(time.Millisecond))
	}
	for _, what := range slices.Sorted(maps.Keys(r.Notes)) {
		fmt.Fprintf(&b, "%s: %d\n", what, r.Notes[what])
	}
	fmt.Fprintf(&b, "violations: %d", len(r.Violations))
	return b.String()
}

// TestChaosCheckerJudges shows the checker can fail, on files alone (no
// processes): two acting claims at once are an overlap, a frozen or dead
// replica's file is not a claim, bad content and a file left after a clean
// exit are violations.
func TestChaosCheckerJudges(t *testing.T) {
	type cand struct {
		content *string // nil: no file
		state   func(c *chaosCandidate)
	}
	id := func(s string) *string { return &s }
	acting := func(c *chaosCandidate) {}
	tests := []struct {
		name           string
		cands          []cand // candidate i is "replica-i"
		wantOverlaps   int
		wantViolations int
		wantFrozen     bool
		wantStale      bool
	}{
		{"one leader", []cand{{id("replica-0"), acting}, {nil, acting}}, 0, 0, false, false},
		{"two files at once", []cand{{id("replica-0"), acting}, {id("replica-1"), acting}}, 1, 0, false, false},
		{"frozen leader's file is not a claim", []cand{{id("replica-0"), func(c *chaosCandidate) { c.stopped = true }}, {id("replica-1"), acting}}, 0, 0, true, false},
		{"woken leader within the grace", []cand{{id("replica-0"), func(c *chaosCandidate) { c.contAt = time.Now() }}, {id("replica-1"), acting}}, 0, 0, true, false},
		{"killed leader's file is not a claim", []cand{{id("replica-0"), func(c *chaosCandidate) { c.killAt = time.Now() }}, {id("replica-1"), acting}}, 0, 0, false, true},
		{"empty file", []cand{{id(""), acting}}, 0, 1, false, false},
		{"partial file", []cand{{id("repl"), acting}}, 0, 1, false, false},
		{"file after a clean exit", []cand{{id("replica-0"), func(c *chaosCandidate) { c.exited, c.cleanExit = true, true }}}, 0, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var cands []*chaosCandidate
			for i, spec := range tt.cands {
				c := &chaosCandidate{
					idx: i, id: fmt.Sprintf("replica-%d", i),
					statusFile: fmt.Sprintf("%s/status-%d", dir, i),
					httpAddr:   "127.0.0.1:1", // nothing answers: endpoint claims are not judged here
					p:          &proc{},
				}
				spec.state(c)
				if spec.content != nil {
					if err := os.WriteFile(c.statusFile, []byte(*spec.content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cands = append(cands, c)
			}
			k := newChaosChecker(cands, time.Second)
			k.Start()
			time.Sleep(100 * time.Millisecond)
			k.Stop()
			rep := k.Report()
			if len(rep.FileOverlaps) != tt.wantOverlaps {
				t.Errorf("overlaps = %q, want %d", rep.FileOverlaps, tt.wantOverlaps)
			}
			// Bad content is reported on every read; count distinct kinds.
			if got := len(slices.Compact(trimTimes(rep.Violations))); got != tt.wantViolations {
				t.Errorf("violations = %q, want %d kinds", rep.Violations, tt.wantViolations)
			}
			if (rep.FrozenReads > 0) != tt.wantFrozen || (rep.StaleReads > 0) != tt.wantStale {
				t.Errorf("frozen reads %d, stale reads %d; want frozen %v, stale %v", rep.FrozenReads, rep.StaleReads, tt.wantFrozen, tt.wantStale)
			}
			if rep.Sweeps == 0 {
				t.Errorf("no sweep ran")
			}
		})
	}
}

// trimTimes drops the time prefix of violations so repeats compare equal.
func trimTimes(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		_, out[i], _ = strings.Cut(v, ": ")
	}
	return out
}
