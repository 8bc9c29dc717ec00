package tui

import (
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// badge is the status shown for a Lease, derived from watch's status and
// our clock: a held Lease whose ExpiresAt has passed shows as expired at
// once, without waiting for watch's expiry timer.
type badge int

const (
	badgeExpired badge = iota
	badgeFlapping
	badgeOrphan
	badgeUnowned // a shard group with shards nobody holds (the others held)
	badgeNoHolder
	badgeReleased
	badgeHeld
)

func (b badge) String() string {
	return [...]string{"expired", "flapping", "orphan", "unowned", "no holder", "released", "held"}[b]
}

// rank orders badges problems first.
func (b badge) rank() int { return int(b) }

// badgeOf judges a Lease at now.
func badgeOf(l *watch.LeaseState, now time.Time) badge {
	switch l.Status {
	case watch.StatusExpired:
		return badgeExpired
	case watch.StatusReleased:
		return badgeReleased
	case watch.StatusNone:
		return badgeNoHolder
	}
	if l.Holder == "" {
		return badgeReleased
	}
	if !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) {
		return badgeExpired
	}
	if l.Flapping {
		return badgeFlapping
	}
	if l.Orphan {
		return badgeOrphan
	}
	return badgeHeld
}
