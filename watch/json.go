package watch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends ev as one JSON object (no newline). Field names are the
// json tags of Event and LeaseState; durations are seconds as floats,
// times RFC 3339 with nanoseconds in UTC. It is hand-written because it runs
// once per update: it allocates nothing beyond dst's growth.
//
// Every string is escaped more strictly than encoding/json does: besides
// quotes, backslashes and C0 controls, DEL and the C1 controls (U+0080 to
// U+009F, which some terminals read as ESC sequences) become \u escapes and
// invalid UTF-8 becomes U+FFFD, so no string from the API can drive a
// terminal the output is printed on.
func (ev *Event) AppendJSON(dst []byte) []byte {
	b := append(dst, `{"type":`...)
	b = appendString(b, string(ev.Type))
	b = appendTime(append(b, `,"time":`...), ev.Time)
	if ev.Context != "" {
		b = appendString(append(b, `,"context":`...), ev.Context)
	}
	if ev.Lease.Name != "" {
		// Renewals only where a reader cannot rebuild them: on a renewed
		// event that merged others (their times are gone from the stream).
		b = ev.Lease.appendJSON(append(b, `,"lease":`...), "", ev.Coalesced > 0)
	}
	if ev.From != "" {
		b = appendString(append(b, `,"from":`...), ev.From)
	}
	if ev.To != "" {
		b = appendString(append(b, `,"to":`...), ev.To)
	}
	if ev.GapFrom != "" {
		b = appendSeconds(append(b, `,"gapSeconds":`...), ev.Gap)
		b = appendString(append(b, `,"gapFrom":`...), ev.GapFrom)
	}
	if ev.Coalesced != 0 {
		b = strconv.AppendInt(append(b, `,"coalesced":`...), int64(ev.Coalesced), 10)
	}
	if ev.Message != "" {
		b = appendString(append(b, `,"message":`...), ev.Message)
	}
	if ev.Connection != "" {
		b = appendString(append(b, `,"connection":`...), string(ev.Connection))
	}
	if ev.Resource != "" {
		b = appendString(append(b, `,"resource":`...), string(ev.Resource))
	}
	if ev.Reason != "" {
		b = appendString(append(b, `,"reason":`...), string(ev.Reason))
	}
	return append(b, '}')
}

// MarshalJSON makes encoding/json produce the same shape as AppendJSON.
func (ev Event) MarshalJSON() ([]byte, error) { return ev.AppendJSON(nil), nil }

// AppendJSON appends the state as one JSON object.
func (s *LeaseState) AppendJSON(dst []byte) []byte { return s.appendJSON(dst, "", false) }

// AppendJSONIn appends the state as one JSON object whose first field is
// "context" (omitted when empty): `watch --once -o json` prints one per Lease.
func (s *LeaseState) AppendJSONIn(dst []byte, context string) []byte {
	return s.appendJSON(dst, context, false)
}

func (s *LeaseState) appendJSON(dst []byte, context string, renewals bool) []byte {
	b := append(dst, '{')
	if context != "" {
		b = appendString(append(b, `"context":`...), context)
		b = append(b, ',')
	}
	b = appendString(append(b, `"namespace":`...), s.Namespace)
	b = appendString(append(b, `,"name":`...), s.Name)
	if s.Group != "" {
		b = s.appendGroup(b)
	}
	b = appendString(append(b, `,"holder":`...), s.Holder)
	if !s.AcquireTime.IsZero() {
		b = appendTime(append(b, `,"acquireTime":`...), s.AcquireTime)
	}
	if !s.RenewTime.IsZero() {
		b = appendTime(append(b, `,"renewTime":`...), s.RenewTime)
	}
	b = strconv.AppendInt(append(b, `,"leaseDurationSeconds":`...), int64(s.LeaseDurationSeconds), 10)
	b = strconv.AppendInt(append(b, `,"leaseTransitions":`...), int64(s.Transitions), 10)
	if len(s.Labels) > 0 {
		b = appendLabels(append(b, `,"labels":`...), s.Labels)
	}
	if s.PreferredHolder != "" {
		b = appendString(append(b, `,"preferredHolder":`...), s.PreferredHolder)
	}
	if s.Strategy != "" {
		b = appendString(append(b, `,"strategy":`...), s.Strategy)
	}
	if s.HandoverTo != "" {
		b = appendString(append(b, `,"handoverTo":`...), s.HandoverTo)
	}
	if s.Priority != 0 {
		b = strconv.AppendInt(append(b, `,"priority":`...), int64(s.Priority), 10)
	}
	if !s.Observed.IsZero() {
		b = appendTime(append(b, `,"observed":`...), s.Observed)
	}
	if !s.ExpiresAt.IsZero() {
		b = appendTime(append(b, `,"expiresAt":`...), s.ExpiresAt)
	}
	if s.RenewInterval != 0 {
		b = appendSeconds(append(b, `,"renewIntervalSeconds":`...), s.RenewInterval)
	}
	b = appendString(append(b, `,"status":`...), string(s.Status))
	if s.Flapping {
		b = append(b, `,"flapping":true`...)
	}
	if s.Orphan {
		b = append(b, `,"orphan":true`...)
	}
	if len(s.Candidates) > 0 {
		b = append(b, `,"candidates":[`...)
		for i := range s.Candidates {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.Candidates[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if s.ResourceVersion != "" {
		b = appendString(append(b, `,"resourceVersion":`...), s.ResourceVersion)
	}
	if renewals && len(s.Renewals) > 0 {
		b = append(b, `,"renewals":[`...)
		for i, t := range s.Renewals {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTime(b, t)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendGroup names the shard group right after the Lease's name, so a
// reader can select a group's events (`jq 'select(.lease.group=="app")'`):
// "shard" (0 is written) and "shards" for a shard Lease, "member":true for
// a member Lease.
func (s *LeaseState) appendGroup(b []byte) []byte {
	b = appendString(append(b, `,"group":`...), s.Group)
	if s.Member {
		return append(b, `,"member":true`...)
	}
	b = strconv.AppendInt(append(b, `,"shard":`...), int64(s.Shard), 10)
	return strconv.AppendInt(append(b, `,"shards":`...), int64(s.Shards), 10)
}

// MarshalJSON makes encoding/json produce the same shape as AppendJSON.
func (s LeaseState) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

func (c *Candidate) appendJSON(b []byte) []byte {
	b = appendString(append(b, `{"name":`...), c.Name)
	if c.BinaryVersion != "" {
		b = appendString(append(b, `,"binaryVersion":`...), c.BinaryVersion)
	}
	if c.EmulationVersion != "" {
		b = appendString(append(b, `,"emulationVersion":`...), c.EmulationVersion)
	}
	if c.Strategy != "" {
		b = appendString(append(b, `,"strategy":`...), c.Strategy)
	}
	if !c.RenewTime.IsZero() {
		b = appendTime(append(b, `,"renewTime":`...), c.RenewTime)
	}
	if !c.PingTime.IsZero() {
		b = appendTime(append(b, `,"pingTime":`...), c.PingTime)
	}
	return append(b, '}')
}

// appendLabels writes keys sorted, so equal states print equal lines.
func appendLabels(b []byte, labels map[string]string) []byte {
	var buf [16]string
	keys := buf[:0]
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = appendString(append(b, ':'), labels[k])
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as an inert JSON string (see Event.AppendJSON).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default: // other C0 controls and DEL
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// WriteJSONLines writes each event from events to w as one JSON line and
// flushes it before reading the next, so `| jq` or a log shipper sees every
// event as it happens. It returns when events is closed (nil), ctx is done,
// or a write fails.
func WriteJSONLines(ctx context.Context, w io.Writer, events <-chan Event) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	line := make([]byte, 0, 1024)
	for {
		var ev Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-ctx.Done():
			_ = bw.Flush() // best effort: we are stopping anyway
			return ctx.Err()
		}
		if !ok {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("writing event: %w", err)
			}
			return nil
		}
		line = append(ev.AppendJSON(line[:0]), '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("writing event: %w", err)
		}
		// Flush now unless more events are already waiting: a burst goes out
		// in one write, a lone event without delay.
		if len(events) == 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("writing event: %w", err)
			}
		}
	}
}
