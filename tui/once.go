package tui

import (
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// onceState is the Lease's status judged at now: held turns expired once
// its expiry (our clock) has passed.
func onceState(l *watch.LeaseState, now time.Time) string {
	if l.Status == watch.StatusHeld && !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) {
		return string(watch.StatusExpired)
	}
	return string(l.Status)
}

// onceRenewed is how long ago the holder renewed, on our clock: the watch
// translated the Lease's renewTime with its skew estimate into ExpiresAt,
// so the renewal was a duration before it. A Lease nobody holds shows its
// renewTime (the release) on the cluster's clock.
func onceRenewed(l *watch.LeaseState, now time.Time) string {
	if l.Holder != "" && !l.ExpiresAt.IsZero() && l.LeaseDurationSeconds > 0 {
		return since(now, l.ExpiresAt.Add(-time.Duration(l.LeaseDurationSeconds)*time.Second))
	}
	return since(now, l.RenewTime)
}

// onceExpires is the time left, "late 3.0s" once past, "-" when unheld.
func onceExpires(l *watch.LeaseState, now time.Time) string {
	if l.Holder == "" || l.ExpiresAt.IsZero() {
		return "-"
	}
	if left := l.ExpiresAt.Sub(now); left > 0 {
		return age(left)
	}
	return "late " + age(now.Sub(l.ExpiresAt))
}

func durationCell(l *watch.LeaseState) string {
	if l.LeaseDurationSeconds <= 0 {
		return "-"
	}
	return age(time.Duration(l.LeaseDurationSeconds) * time.Second)
}

func agoCell(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return age(now.Sub(t))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNoneTag(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
