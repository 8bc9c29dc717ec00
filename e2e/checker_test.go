package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// The chaos checker, in the spirit of Jepsen: it reads what every replica
// claims, continuously, and judges the history afterwards.
//
// What counts as a claim of leadership. A replica claims to lead while its
// status file exists (what the original's shell loop tests), while its
// exec-mode child runs (the child writes its pid to a file; the checker
// looks the process up in /proc), and while its /leader endpoint answers
// isLeader=true. A claim counts only while the replica is acting: its
// process is running (a process being shut down, SIGTERM sent and not yet
// exited, is running), not stopped by SIGSTOP, not within wakeGrace of its
// SIGCONT, and not a fresh process that found a dead predecessor's file at
// its path and has not yet shown (by answering on its endpoint, which it
// opens only after its start-up clean-up) that it removed it. A frozen or
// dead process cannot remove its file; what the sidecar can promise is about
// replicas that run. Reads of a file that is not a claim are counted as
// frozen or stale reads, and a file found after a clean exit (exit 0) is a
// violation.
//
// Sampling resolution. Files are read in sweeps, every candidate's file once
// per sweep, a sweep every ~2 ms; the longest gap between sweeps must stay
// within rules.MaxSweepGap or the run fails, since an overlap shorter than
// that gap can go unseen. The endpoint is polled every 50 ms per candidate;
// an endpoint overlap is reported only when it is proven: one replica's
// claim was answered inside the span over which the other's consecutive
// answers of one term bracketed it. The Lease is read every 100 ms through
// the test's own admin client (see checker_rules_test.go for the rules
// that use it).
type chaosChecker struct {
	cands  []*chaosCandidate
	rules  chaosRules
	client *http.Client
	lease  leaseReader // nil: no Lease is read (synthetic tests feed judgeLease)

	stop chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	began       time.Time
	sweeps      int
	reads       int
	frozenReads int
	staleReads  int
	childReads  int
	lastSweep   time.Time
	maxSweepGap time.Duration
	open        []*claimRun // per candidate: the claim being read now
	runs        []claimRun  // closed claims
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

	// For the rules of checker_rules_test.go.
	lastSignal   []time.Time    // per candidate: the last time any signal (file, child, isLeader) was seen, judged or not
	prevRead     []fileRead     // per candidate: its read in the previous sweep
	segs         [][]presSeg    // per candidate: its file's presence over time
	answers      [][]answerObs  // per candidate: every /leader answer
	vanished     []vanish       // recent disappearances of acting replicas' files
	excused      []interval     // spans where the leaderless-gap bound does not apply
	leaderHits   []time.Time    // faults aimed at the leader: the gap bound counts from the latest
	shutdownAt   time.Time      // the harness began shutting every replica down: gaps are judged up to here
	lastRenewOf  []time.Time    // per candidate: its latest renewTime seen
	deadlineOpen []time.Time    // per candidate: the renewal whose deadline was already reported broken
	lastLease    leaseObs       // the previous Lease observation
	leaseSamples int            // successful Lease reads
	zombieOpen   []bool         // per candidate: a zombie episode already reported
	zombies      []string       // renewals by a replica not acting for longer than RenewDeadline
	marginViol   []string       // files that appeared within the margin of another's disappearance
	crossViol    []string       // /leader answers that contradict the same replica's file
	unanswered   map[string]int // why /leader did not answer, for the report
}

// claimRun is one uninterrupted run of sweeps finding a candidate's status
// file or child while it was acting: from the start of the first such read
// to the end of the last.
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
	// childPidFile is set for a replica in exec mode: its child writes its
	// pid there (see chaosChildScript).
	childPidFile string

	mu         sync.Mutex
	p          *testProc
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

func newChaosChecker(cands []*chaosCandidate, rules chaosRules, lease leaseReader) *chaosChecker {
	n := len(cands)
	return &chaosChecker{
		cands: cands,
		rules: rules,
		lease: lease,
		client: &http.Client{
			// An answer takes microseconds; the timeout only absorbs the CPU
			// stalls of a loaded 2-core machine. A process frozen mid-request
			// is excused by the harness's record of the SIGSTOP, not by this.
			Timeout:   2 * time.Second,
			Transport: &http.Transport{DisableKeepAlives: true},
		},
		stop:         make(chan struct{}),
		open:         make([]*claimRun, n),
		pairOpen:     map[[2]int]bool{},
		httpOpen:     make([]*httpRun, n),
		httpRuns:     make([][]httpRun, n),
		lastSignal:   make([]time.Time, n),
		prevRead:     make([]fileRead, n),
		segs:         make([][]presSeg, n),
		answers:      make([][]answerObs, n),
		zombieOpen:   make([]bool, n),
		lastRenewOf:  make([]time.Time, n),
		deadlineOpen: make([]time.Time, n),
		unanswered:   map[string]int{},
	}
}

// Start begins sampling files, endpoints and the Lease.
func (k *chaosChecker) Start() {
	k.began = time.Now()
	k.wg.Add(1 + len(k.cands))
	go k.sweepLoop()
	for i := range k.cands {
		go k.pollLoop(i)
	}
	if k.lease != nil {
		k.wg.Add(1)
		go k.leaseLoop()
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
	k.violateLocked(time.Now(), format, args...)
}

func (k *chaosChecker) violateLocked(at time.Time, format string, args ...any) {
	k.violations = append(k.violations, k.stamp(at)+fmt.Sprintf(format, args...))
}

// stamp prefixes a finding with its time since the checker started.
func (k *chaosChecker) stamp(at time.Time) string {
	return fmt.Sprintf("%6.2fs: ", at.Sub(k.began).Seconds())
}

// fileRead is one read of a status file and, in exec mode, of the child.
type fileRead struct {
	t0, t1     time.Time
	present    bool
	content    string
	err        error
	childAlive bool // exec mode: the child whose pid is in the pid file runs
	acting     bool
	why        string
}

// signal reports whether the read found any sign of leadership.
func (r fileRead) signal() bool { return r.present || r.childAlive }

func (k *chaosChecker) read(c *chaosCandidate) fileRead {
	before := time.Now()
	ok0, why0, ep0 := c.acting(before, k.rules.WakeGrace)
	b, err := os.ReadFile(c.statusFile)
	var alive bool
	if c.childPidFile != "" {
		_, alive = childRunning(c.childPidFile)
	}
	after := time.Now()
	ok1, why1, ep1 := c.acting(after, k.rules.WakeGrace)
	r := fileRead{t0: before, t1: after, childAlive: alive, acting: ok0 && ok1 && ep0 == ep1, why: why0 + why1}
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
// wake of paused replicas, and what the rules of checker_rules_test.go need.
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
		if r.err != nil {
			k.violateLocked(r.t0, "reading %s's status file: %v", c.id, r.err)
			k.closeRunLocked(i)
			continue
		}
		k.trackLocked(i, r)
		if !r.signal() {
			k.closeRunLocked(i)
			continue
		}
		if r.present {
			k.reads++
			if r.content != c.id {
				k.violateLocked(r.t0, "%s's status file held %q, want exactly %q (empty, partial or foreign)", c.id, r.content, c.id)
			}
		}
		if r.childAlive {
			k.childReads++
		}
		if !r.acting {
			k.closeRunLocked(i)
			if strings.Contains(r.why, "exited cleanly") {
				if r.present {
					k.violateLocked(r.t0, "%s's status file exists after its process exited 0", c.id)
				}
				if r.childAlive {
					k.violateLocked(r.t0, "%s's child still runs after its sidecar exited 0", c.id)
				}
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
		if r := reads[wk.cand]; !r.signal() && r.t0.After(wk.contAt) {
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
				k.overlaps = append(k.overlaps, fmt.Sprintf("%sclaims (status file or child) of %s and %s both read in one sweep",
					k.stamp(now), k.cands[pair[0]].id, k.cands[pair[1]].id))
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
		a, err := k.askLeader(c)
		k.judgeAnswer(i, s, time.Now(), a, err)
	}
}

// leaseLoop reads the Lease every 100 ms: a renewal every RetryPeriod
// (500 ms here) is seen as a change of renewTime.
func (k *chaosChecker) leaseLoop() {
	defer k.wg.Done()
	for {
		select {
		case <-k.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sent := time.Now()
		o, err := k.lease(ctx)
		cancel()
		o.asOf = sent
		if err != nil {
			continue // the API server restarting: nothing to judge
		}
		k.judgeLease(o)
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
							out = append(out, fmt.Sprintf("%s/leader of %s said isLeader within %s's term %s",
								k.stamp(ans[0]), k.cands[b].id, k.cands[a].id, ra.term))
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
	Sweeps, Reads, ChildReads, FrozenReads, StaleReads, HTTPSamples, LeaseSamples int
	MaxSweepGap                                                                   time.Duration
	Terms                                                                         int // claim runs
	Handovers                                                                     int // claim runs whose candidate differs from the previous run's
	FileOverlaps, HTTPOverlaps                                                    []string
	MaxGap                                                                        time.Duration // longest time with no acting claim, first claim to last, excused spans included
	MaxWake                                                                       time.Duration
	Wakes                                                                         int
	Violations                                                                    []string
	// The rules today's core is known to break (issue 11: zombie, margin,
	// a stale /leader), kept apart so a test can tell them from the rest.
	Zombies, MarginViolations, CrossViolations []string
	Unanswered                                 map[string]int
	Notes                                      map[string]int
}

// Report judges the recorded history. Call after Stop.
func (k *chaosChecker) Report() chaosReport {
	k.mu.Lock()
	defer k.mu.Unlock()
	runs := slices.Clone(k.runs)
	for _, run := range k.open { // still open: Report called before Stop
		if run != nil {
			runs = append(runs, *run)
		}
	}
	slices.SortFunc(runs, func(a, b claimRun) int { return a.first.Compare(b.first) })
	r := chaosReport{
		Sweeps: k.sweeps, Reads: k.reads, ChildReads: k.childReads, FrozenReads: k.frozenReads, StaleReads: k.staleReads,
		HTTPSamples: k.httpSamples, LeaseSamples: k.leaseSamples, MaxSweepGap: k.maxSweepGap, Terms: len(runs),
		FileOverlaps: slices.Clone(k.overlaps), HTTPOverlaps: k.httpOverlaps(),
		MaxWake: k.maxWake, Wakes: k.wakeCount, Violations: slices.Clone(k.violations),
		Zombies: slices.Clone(k.zombies), MarginViolations: slices.Clone(k.marginViol),
		CrossViolations: k.crossCheckLocked(), Unanswered: maps.Clone(k.unanswered), Notes: maps.Clone(k.notes),
	}
	if b := k.rules.MaxSweepGap; b > 0 && k.maxSweepGap > b {
		r.Violations = append(r.Violations, fmt.Sprintf("the checker's sweeps were up to %v apart, over its stated resolution %v: overlaps shorter than that could have gone unseen",
			k.maxSweepGap.Round(time.Millisecond), b))
	}
	var covered time.Time
	for i, run := range runs {
		if i > 0 && run.cand != runs[i-1].cand {
			r.Handovers++
		}
		if i > 0 && run.first.After(covered) {
			gap := run.first.Sub(covered)
			r.MaxGap = max(r.MaxGap, gap)
			if v := k.judgeGapLocked(covered, run.first); v != "" {
				r.Violations = append(r.Violations, v+fmt.Sprintf(" (until %s's claim)", k.cands[run.cand].id))
			}
		}
		if run.last.After(covered) {
			covered = run.last
		}
	}
	// The gap after the last claim counts too, up to the shutdown: a run
	// that ends with nobody acting (a zombie holding the Lease) is the
	// worst gap of all.
	if end := k.shutdownAt; len(runs) > 0 && end.After(covered) {
		r.MaxGap = max(r.MaxGap, end.Sub(covered))
		if v := k.judgeGapLocked(covered, end); v != "" {
			r.Violations = append(r.Violations, v+" (until the shutdown)")
		}
	}
	return r
}

// String prints the figures, one per line.
func (r chaosReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "status-file reads: %d in %d sweeps (longest gap between sweeps %v), %d while frozen or waking, %d stale (dead or starting); child seen running in %d reads\n",
		r.Reads, r.Sweeps, r.MaxSweepGap.Round(time.Millisecond), r.FrozenReads, r.StaleReads, r.ChildReads)
	fmt.Fprintf(&b, "/leader answers: %d; Lease reads: %d\n", r.HTTPSamples, r.LeaseSamples)
	fmt.Fprintf(&b, "leadership terms seen: %d, hand-overs to another replica: %d\n", r.Terms, r.Handovers)
	fmt.Fprintf(&b, "overlaps: %d of status files or children, %d of /leader claims\n", len(r.FileOverlaps), len(r.HTTPOverlaps))
	fmt.Fprintf(&b, "max leaderless gap (no acting replica's file or child): %v\n", r.MaxGap.Round(time.Millisecond))
	if r.Wakes > 0 {
		fmt.Fprintf(&b, "paused replicas' files gone after SIGCONT: %d, slowest %v\n", r.Wakes, r.MaxWake.Round(time.Millisecond))
	}
	for _, why := range slices.Sorted(maps.Keys(r.Unanswered)) {
		fmt.Fprintf(&b, "/leader not answering, excused (%s): %d\n", why, r.Unanswered[why])
	}
	for _, what := range slices.Sorted(maps.Keys(r.Notes)) {
		fmt.Fprintf(&b, "%s: %d\n", what, r.Notes[what])
	}
	fmt.Fprintf(&b, "zombies: %d, margin violations: %d, /leader contradicting the file: %d\n", len(r.Zombies), len(r.MarginViolations), len(r.CrossViolations))
	fmt.Fprintf(&b, "violations: %d", len(r.Violations))
	return b.String()
}
