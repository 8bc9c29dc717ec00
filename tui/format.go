package tui

import (
	"strconv"
	"strings"
	"time"
)

// age spells a duration the way kubectl does ("45s", "12m", "3h4m", "2d"),
// with tenths under ten seconds where a heartbeat lives ("1.8s").
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d.Truncate(100*time.Millisecond))/float64(time.Second), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < 10*time.Minute:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return strconv.Itoa(m) + "m"
		}
		return strconv.Itoa(m) + "m" + strconv.Itoa(s) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 || h >= 10 {
			return strconv.Itoa(h) + "h"
		}
		return strconv.Itoa(h) + "h" + strconv.Itoa(m) + "m"
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 || days >= 10 {
		return strconv.Itoa(days) + "d"
	}
	return strconv.Itoa(days) + "d" + strconv.Itoa(h) + "h"
}

// since is "1.8s ago", or "-" for a zero time.
func since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return age(now.Sub(t)) + " ago"
}

// bar draws a fraction 0..1 in width cells, full cells first.
func bar(frac float64, width int) string {
	if width <= 0 {
		return ""
	}
	frac = max(0, min(1, frac))
	full := int(frac*float64(width) + 0.5)
	if frac > 0 && full == 0 {
		full = 1 // still alive: never draw an empty bar before expiry
	}
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

// heartbeatStep is one heartbeat cell: a second of history.
const heartbeatStep = time.Second

// heartbeat draws the last width seconds, newest on the right: a dot for a
// second with a renewal, a faint dot for silence. A steady leader beats
// regularly ("•·•·•·"); a stalled one trails off into silence.
func heartbeat(now time.Time, renewals []time.Time, width int) string {
	if width <= 0 {
		return ""
	}
	cells := make([]byte, width) // 0 = silence, 1 = a renewal
	for i := len(renewals) - 1; i >= 0; i-- {
		ago := now.Sub(renewals[i])
		if ago < 0 {
			ago = 0
		}
		cell := int(ago / heartbeatStep)
		if cell >= width {
			break // older renewals fall off the left edge
		}
		cells[width-1-cell] = 1
	}
	var b strings.Builder
	b.Grow(width * 3)
	for _, c := range cells {
		if c == 1 {
			b.WriteString("•")
		} else {
			b.WriteString("·")
		}
	}
	return b.String()
}

// lastRenewal is when the holder last renewed: the last renewal we saw, on
// our clock, so skew between the cluster and this machine cannot make it
// "-30s ago"; before we have seen one (the initial list), the Lease's own
// renewTime, on the cluster's clock.
func lastRenewal(l *leaseState) time.Time {
	if n := len(l.Renewals); n > 0 {
		return l.Renewals[n-1]
	}
	return l.RenewTime
}
