package e2e

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The chaos checker's rules that read the Lease: the zombie rule and the
// own-deadline rule.

// leaseObs is one read of the Lease.
type leaseObs struct {
	asOf            time.Time // the read was sent then: it reflects every write that landed before
	exists          bool
	holder          string
	renew, acquire  time.Time
	resourceVersion string
}

// leaseReader reads the Lease (through the test's admin client).
type leaseReader func(ctx context.Context) (leaseObs, error)

// judgeLease applies the zombie rule to one read of the Lease: a write by a
// replica (its renewTime moved, or the holder changed to it) while that
// replica showed no sign of acting (no file, no child, no isLeader) for
// longer than RenewDeadline is a zombie: it keeps everyone else off the
// Lease while nothing acts. The span is counted from the latest of its last
// sign of acting, its process's start or wake, and the acquireTime of the
// holding (a fresh acquisition has a moment to write its file).
func (k *chaosChecker) judgeLease(o leaseObs) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.leaseSamples++
	prev := k.lastLease
	k.lastLease = o
	k.judgeDeadlineLocked(o)
	if !o.exists || o.holder == "" || (prev.exists && prev.holder == o.holder && prev.renew.Equal(o.renew)) {
		return
	}
	i := -1
	for j, c := range k.cands {
		if c.id == o.holder {
			i = j
		}
	}
	if i < 0 || k.zombieOpen[i] {
		return
	}
	c := k.cands[i]
	c.mu.Lock()
	since := maxTime(k.lastSignal[i], o.acquire, c.startedAt, c.contAt)
	c.mu.Unlock()
	if idle := o.renew.Sub(since); idle > k.rules.RenewDeadline+zombieSlack {
		k.zombieOpen[i] = true
		k.zombies = append(k.zombies, fmt.Sprintf("%s%s renewed the Lease (renewTime %s) while not acting for %v, over RenewDeadline %v + %v",
			k.stamp(o.renew), c.id, o.renew.Format("15:04:05.000"), idle.Round(time.Millisecond), k.rules.RenewDeadline, zombieSlack))
	}
}

// judgeDeadlineLocked applies the own-deadline rule (issue 11, guarantee
// a) as of one Lease read: a replica acts only until the start of its last
// successful renewal + RenewDeadline. The renewTime is stamped as a
// renewal starts; a read sent at asOf shows every renewal that succeeded
// before, so an acting claim of replica i at t <= asOf needs a renewal of
// i at or after t - RenewDeadline - slack among those seen. A replica's
// latest renewal is the renewTime of the last read that named it holder,
// forgotten when the Lease is seen deleted.
func (k *chaosChecker) judgeDeadlineLocked(o leaseObs) {
	if k.rules.OwnDeadline <= 0 || o.asOf.IsZero() {
		return
	}
	if !o.exists {
		// Deleted: a holder's later writes (a re-creation that failed, say)
		// are not seen, so its deadline is unknown from here on.
		clear(k.lastRenewOf)
		return
	}
	for i, c := range k.cands {
		if o.exists && o.holder == c.id {
			k.lastRenewOf[i] = o.renew
		}
		limit := k.lastRenewOf[i].Add(k.rules.RenewDeadline + k.rules.OwnDeadline)
		if !o.asOf.After(limit) || k.deadlineOpen[i].Equal(k.lastRenewOf[i]) {
			continue
		}
		// A replica never seen holding may have renewed before the first
		// read: its deadline is unknown.
		if k.lastRenewOf[i].IsZero() {
			continue
		}
		// Claims of i after the limit and no later than asOf.
		runs := k.runs
		if k.open[i] != nil {
			runs = append(slices.Clip(runs), *k.open[i])
		}
		for j := len(runs) - 1; j >= 0; j-- {
			run := runs[j]
			if run.cand != i {
				continue
			}
			if run.last.After(limit) && !run.first.After(o.asOf) {
				k.deadlineOpen[i] = k.lastRenewOf[i]
				k.violateLocked(maxTime(run.first, limit), "%s acted %v past its last renewal's start (%s) + RenewDeadline %v, allowed slack %v",
					c.id, minTime(run.last, o.asOf).Sub(limit.Add(-k.rules.OwnDeadline)).Round(time.Millisecond),
					k.lastRenewOf[i].Format("15:04:05.000"), k.rules.RenewDeadline, k.rules.OwnDeadline)
				break
			}
			if run.last.Before(limit) {
				break
			}
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
