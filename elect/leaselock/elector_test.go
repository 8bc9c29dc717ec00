package leaselock

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// settle is long enough for every follower's elector to be blocked in Get:
// after a change it returns false and sleeps up to 2.2 RetryPeriods, twice
// at most (a lost race, then the read that follows it).
const settle = 5 * retryPeriod

func startCandidates(t *testing.T, ns string, ts *terms, n int) []*candidate {
	t.Helper()
	var cs []*candidate
	for i := range n {
		cs = append(cs, startCandidate(t, ns, "lease", fmt.Sprintf("c%d", i), ts))
	}
	return cs
}

func byID(cs []*candidate, id string) *candidate {
	for _, c := range cs {
		if c.id == id {
			return c
		}
	}
	return nil
}

// In steady state followers send nothing about the Lease (their watch stays
// open), do not take a Lease whose holder keeps renewing, however long, and
// know who leads.
func TestSteadyFollowersSendNothing(t *testing.T) {
	ns, ts := cp.Namespace(t), &terms{}
	cs := startCandidates(t, ns, ts, 3)
	leader := waitLeader(t, ts)
	time.Sleep(settle)

	t0 := time.Now()
	time.Sleep(3 * leaseDuration)
	for _, c := range cs {
		reqs := api(c).since(t0, "")
		if c.id == leader.id {
			if n := len(api(c).since(t0, "update")); n < int(3*leaseDuration/(3*retryPeriod)) || n != len(reqs) {
				t.Errorf("leader %s sent %d requests, %d of them renewals; want renewals only, about one per RetryPeriod", c.id, len(reqs), n)
			}
			continue
		}
		if len(reqs) != 0 {
			t.Errorf("follower %s sent %v in steady state, want nothing", c.id, reqs)
		}
		if got := c.reportedLeaders(); len(got) == 0 || got[len(got)-1] != leader.id {
			t.Errorf("follower %s was told the leaders %v, want the last to be %s", c.id, got, leader.id)
		}
	}
	if all := ts.all(); len(all) != 1 {
		t.Errorf("terms %v, want the first leader's only", all)
	}
}

func api(c *candidate) *apiLog { return c.api }

// A released Lease is taken by a follower woken by the watch: between the
// release and its acquisition, the new leader's first request was the Update
// that won, and it sent no read: it did not poll.
func TestGracefulHandOverWakesFollower(t *testing.T) {
	ns, ts := cp.Namespace(t), &terms{}
	cs := startCandidates(t, ns, ts, 3)
	old := waitLeader(t, ts)
	time.Sleep(settle)

	t0 := time.Now()
	byID(cs, old.id).stop(t)
	next := waitLeader(t, ts, old.id)
	reqs := byID(cs, next.id).api.since(t0, "")
	var before []request
	for _, r := range reqs {
		if r.at.Before(next.start) {
			before = append(before, r)
		}
	}
	// client-go starts OnStartedLeading on its own goroutine and renews at
	// once, so on a busy machine the first renewal may also come before the
	// callback ran: updates after the winning one are allowed, reads are not.
	if len(before) == 0 || before[0].verb != "update" || before[0].status != 200 {
		t.Errorf("new leader %s sent %v between the release and leading; want a successful update first", next.id, before)
	}
	for _, r := range before {
		if r.verb != "update" {
			t.Errorf("new leader %s sent %v between the release and leading; want updates only (no poll)", next.id, before)
			break
		}
	}
	released := byID(cs, old.id).api.lastOK("update")
	if before != nil && before[0].at.Before(released) {
		t.Errorf("new leader's update at %s was sent before the release at %s", before[0].at.Format(time.StampMicro), released.Format(time.StampMicro))
	}
	ts.checkNoOverlap(t)
}

// A crashed holder (it can neither renew nor release) is replaced only once
// its lease ran out counted from its last renewal, by a follower that acted on
// its own timer: no read between the crash and the take-over.
func TestCrashedHolderReplacedAfterExpiry(t *testing.T) {
	ns, ts := cp.Namespace(t), &terms{}
	cs := startCandidates(t, ns, ts, 3)
	old := waitLeader(t, ts)
	time.Sleep(settle)

	t0 := time.Now()
	crashed := byID(cs, old.id)
	crashed.cut()
	next := waitLeader(t, ts, old.id)
	lastRenew := crashed.api.lastOK("update")
	winner := byID(cs, next.id)
	var took request
	for _, r := range winner.api.since(t0, "update") {
		if r.status == 200 {
			took = r
			break
		}
	}
	if earliest := lastRenew.Add(leaseDuration); took.at.Before(earliest) {
		t.Errorf("%s took the lease at %s, before it expired at %s (last renewal sent + LeaseDuration)",
			next.id, took.at.Format(time.StampMicro), earliest.Format(time.StampMicro))
	}
	if gets := winner.api.since(t0, "get"); len(gets) != 0 {
		t.Errorf("new leader read the lease %d times before taking it, want 0 (no polling)", len(gets))
	}
	ts.checkNoOverlap(t)
}

// Many hand-overs, graceful and crashes, each followed by a new candidate:
// never two candidates believing they lead at once.
func TestManyHandOversNeverTwoLeaders(t *testing.T) {
	ns, ts := cp.Namespace(t), &terms{}
	cs := startCandidates(t, ns, ts, 4)
	rounds := 6
	for i := range rounds {
		cur := waitLeader(t, ts)
		time.Sleep(settle)
		c := byID(cs, cur.id)
		if i%2 == 0 {
			c.stop(t)
		} else {
			c.cut()
		}
		waitLeader(t, ts, cur.id)
		cs = append(cs, startCandidate(t, ns, "lease", fmt.Sprintf("n%d", i), ts))
	}
	ts.checkNoOverlap(t)
	if all := ts.all(); len(all) != rounds+1 {
		t.Errorf("%d terms, want %d (one per round plus the first)", len(all), rounds+1)
	}
}

// A Lease deleted by a third party while its holder leads: the holder
// recreates it on its next renewal and keeps leading; no follower creates it
// meanwhile (client-go followers would, at their next poll).
func TestDeletedWhileLeadingStaysWithHolder(t *testing.T) {
	ns, ts := cp.Namespace(t), &terms{}
	admin := cp.Client(t, cp.Admin)
	cs := startCandidates(t, ns, ts, 2)
	leader := waitLeader(t, ts)
	time.Sleep(settle)

	ctx := context.Background()
	if err := admin.CoordinationV1().Leases(ns).Delete(ctx, "lease", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * leaseDuration)
	lease, err := admin.CoordinationV1().Leases(ns).Get(ctx, "lease", metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err != nil {
		t.Fatalf("lease after deletion: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != leader.id {
		t.Errorf("lease recreated with holder %v, want %s", h, leader.id)
	}
	all := ts.all()
	if len(all) != 1 || !all[0].end.IsZero() {
		t.Errorf("terms %v, want %s leading throughout", all, leader.id)
	}
	for _, c := range cs {
		if c.id != leader.id && slices.ContainsFunc(c.api.since(time.Time{}, "create"), func(r request) bool { return r.status == 201 }) {
			t.Errorf("follower %s created the lease", c.id)
		}
	}
}
