package tui

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// TableRow is one Lease of `watch --once`, with the context it is from.
type TableRow = watch.ContextLease

// TableOptions shape the one-shot table.
type TableOptions struct {
	// Wide adds DURATION, ACQUIRED, PREFERRED, CANDIDATES and LABELS.
	Wide bool
	// Contexts adds a CONTEXT column first (several contexts watched).
	Contexts bool
}

// WriteTable prints rows as `kubectl get` does: a header, columns apart by
// three spaces, ages judged at now (our clock). Every API string is inert,
// so a hostile holder cannot drive the terminal. Rows print in the order
// given.
func WriteTable(w io.Writer, rows []TableRow, now time.Time, opts TableOptions) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var head []string
	if opts.Contexts {
		head = append(head, "CONTEXT")
	}
	head = append(head, "NAMESPACE", "NAME", "HOLDER", "STATE", "RENEWED", "EXPIRES", "TRANSITIONS")
	if opts.Wide {
		head = append(head, "DURATION", "ACQUIRED", "PREFERRED", "CANDIDATES", "LABELS")
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, "No Leases found.\n")
		return err
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range rows {
		l := &rows[i].Lease
		var cells []string
		if opts.Contexts {
			cells = append(cells, Inert(rows[i].Context))
		}
		cells = append(cells, Inert(l.Namespace), Inert(l.Name), orDash(Inert(l.Holder)), onceState(l, now),
			onceRenewed(l, now), onceExpires(l, now), strconv.Itoa(int(l.Transitions)))
		if opts.Wide {
			cells = append(cells, durationCell(l), agoCell(now, l.AcquireTime), orNoneTag(Inert(l.PreferredHolder)),
				strconv.Itoa(len(l.Candidates)), labelsCell(l.Labels))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

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

// labelsCell is "k=v,k2=v2" sorted by key, as kubectl's --show-labels.
func labelsCell(labels map[string]string) string {
	if len(labels) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = Inert(k) + "=" + Inert(labels[k])
	}
	return strings.Join(parts, ",")
}
