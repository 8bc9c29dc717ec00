package watch

// A recording of `leader-elector watch` (--record) is the JSON lines of
// this package after one header line saying what was watched, from where
// and since when. Nothing here renders: the dashboard (package tui) and the
// JSON writer replay what ReadRecording returns.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// RecordingFormat is the version of the recording format in the header.
const RecordingFormat = 1

// headerType is the header line's "type", which no watch event has.
const headerType = "header"

// RecordingHeader is the first line of a recording.
type RecordingHeader struct {
	Type          string    `json:"type"` // always "header"
	Format        int       `json:"format"`
	Version       string    `json:"version"` // leader-elector's
	Contexts      []string  `json:"contexts"`
	Namespace     string    `json:"namespace,omitempty"` // empty with AllNamespaces
	AllNamespaces bool      `json:"allNamespaces,omitempty"`
	Selector      string    `json:"selector,omitempty"`
	Start         time.Time `json:"start"` // the recorder's clock, as event times
}

// Recorder writes a recording: the header, then one line per event.
type Recorder struct {
	bw   *bufio.Writer
	line []byte
}

// NewRecorder writes h (its Type and Format filled in) to w.
func NewRecorder(w io.Writer, h RecordingHeader) (*Recorder, error) {
	h.Type, h.Format = headerType, RecordingFormat
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding the recording's header: %w", err)
	}
	rw := &Recorder{bw: bufio.NewWriterSize(w, 64<<10), line: make([]byte, 0, 1024)}
	if _, err := rw.bw.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("writing the recording's header: %w", err)
	}
	return rw, rw.Flush()
}

// Write adds one event (buffered: Flush writes it out).
func (w *Recorder) Write(ev *Event) error {
	w.line = append(ev.AppendJSON(w.line[:0]), '\n')
	if _, err := w.bw.Write(w.line); err != nil {
		return fmt.Errorf("writing the recording: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (w *Recorder) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("writing the recording: %w", err)
	}
	return nil
}

// Tee writes every event from in to the recording and passes it on, in
// order, on the returned channel, which is closed when in is closed or ctx
// ends. The recording is therefore exactly the stream the consumer saw: each
// event is passed on as it reads back (see asRecorded), not with the
// monotonic clock readings its times carried. A burst is flushed once, a
// lone event at once, as `-o json` does. A write
// error is sent on errc and the events keep flowing: losing the recording
// must not stop the dashboard. errc is closed once the last line is
// flushed, so a caller that drains it knows the recording is complete.
func (w *Recorder) Tee(ctx context.Context, in <-chan Event) (out <-chan Event, errc <-chan error) {
	o := make(chan Event, cap(in))
	e := make(chan error, 2)
	go func() {
		var failed error
		defer func() {
			if failed == nil {
				if err := w.Flush(); err != nil {
					e <- err
				}
			}
			close(o)
			close(e)
		}()
		for {
			var ev Event
			var ok bool
			select {
			case ev, ok = <-in:
			case <-ctx.Done():
				return
			}
			if !ok {
				return
			}
			ev.asRecorded()
			if failed == nil {
				failed = w.Write(&ev)
				if failed == nil && len(in) == 0 {
					failed = w.Flush()
				}
				if failed != nil {
					e <- failed
				}
			}
			select {
			case o <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return o, e
}

// asRecorded sets every time of ev to what a recording holds and
// ReadRecording returns: the wall clock in UTC, without the monotonic clock
// reading a time from time.Now carries. Go compares two times by that
// reading when both have one, and by the wall clock otherwise, and the two
// orders can differ: a thread descheduled between time.Now's reads of the
// two clocks stamps an instant whose wall time is behind its monotonic
// one, so an event of one context can be later than another context's by
// one clock and earlier by the other. A consumer judging by the readings
// (the dashboard's clock is the latest event time) would then see an
// order that its replay, which has only the wall clock, cannot reproduce.
// Times shared with other events (Renewals, Candidates) are copied, never
// changed in place, and only when they hold such a reading.
func (ev *Event) asRecorded() {
	ev.Time = ev.Time.UTC()
	l := &ev.Lease
	l.AcquireTime, l.RenewTime = l.AcquireTime.UTC(), l.RenewTime.UTC()
	l.Observed, l.ExpiresAt = l.Observed.UTC(), l.ExpiresAt.UTC()
	if slices.ContainsFunc(l.Renewals, notRecorded) {
		l.Renewals = slices.Clone(l.Renewals)
		for i := range l.Renewals {
			l.Renewals[i] = l.Renewals[i].UTC()
		}
	}
	if slices.ContainsFunc(l.Candidates, func(c Candidate) bool { return notRecorded(c.RenewTime) || notRecorded(c.PingTime) }) {
		l.Candidates = slices.Clone(l.Candidates)
		for i := range l.Candidates {
			c := &l.Candidates[i]
			c.RenewTime, c.PingTime = c.RenewTime.UTC(), c.PingTime.UTC()
		}
	}
}

// notRecorded tells whether t differs from what a recording reads back:
// it has a monotonic clock reading or a location other than UTC.
func notRecorded(t time.Time) bool { return t != t.UTC() }

// Recording is what ReadRecording returns: the header and the events in file order,
// each with its Lease's Renewals rebuilt (see RenewalTracker).
type Recording struct {
	Header RecordingHeader
	// HasHeader is false for plain `watch -o json` output, which replays
	// too: the contexts are then those named by the events.
	HasHeader bool
	Events    []Event
	// Damage is set when a line could not be read: Events holds what came
	// before it and the rest of the file is ignored.
	Damage *DamageError

	path string // the file, when OpenRecording read it
}

// Contexts names the contexts recorded: the header's, else those of the
// events in order of first appearance ("" stands for an unnamed one).
func (r *Recording) Contexts() []string {
	if r.HasHeader && len(r.Header.Contexts) > 0 {
		return r.Header.Contexts
	}
	var names []string
	seen := map[string]bool{}
	for i := range r.Events {
		if c := r.Events[i].Context; !seen[c] {
			seen[c] = true
			names = append(names, c)
		}
	}
	return names
}

// DamageError says where a recording stopped being readable.
type DamageError struct {
	Line int // 1-based
	Err  error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }

// ReadRecording reads a recording. A line that is not a watch event (cut short by a
// crash, or corrupt) ends the reading: what came before it is returned with
// Damage set. The error is for I/O failures only.
func ReadRecording(r io.Reader) (*Recording, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rec := &Recording{}
	var renewals RenewalTracker
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return rec, fmt.Errorf("reading the recording: %w", err)
		}
		eof := err != nil
		if body := bytes.TrimSpace(line); len(body) > 0 {
			if n == 1 && isHeader(body) {
				if herr := json.Unmarshal(body, &rec.Header); herr != nil || rec.Header.Type != headerType {
					rec.Damage = &DamageError{Line: n, Err: fmt.Errorf("unreadable header: %v", herr)}
					return rec, nil
				}
				if rec.Header.Format > RecordingFormat {
					rec.Damage = &DamageError{Line: n, Err: fmt.Errorf("recording format %d is newer than this leader-elector reads (%d)", rec.Header.Format, RecordingFormat)}
					return rec, nil
				}
				rec.HasHeader = true
			} else {
				var ev Event
				if derr := json.Unmarshal(body, &ev); derr != nil {
					if eof && !bytes.HasSuffix(line, []byte("\n")) {
						derr = fmt.Errorf("cut short (%v)", derr)
					}
					rec.Damage = &DamageError{Line: n, Err: derr}
					return rec, nil
				}
				renewals.Fill(&ev)
				rec.Events = append(rec.Events, ev)
			}
		}
		if eof {
			return rec, nil
		}
	}
}

// isHeader tells whether a line is a recording's header: a JSON object
// whose type is "header", however it is spaced.
func isHeader(line []byte) bool {
	var probe struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(line, &probe) == nil && probe.Type == headerType
}

// Play sends events on the returned channel at their recorded pace times
// speed (2: twice as fast), or all at once when speed is 0. The channel
// is closed after the last event or when ctx ends. Event times that go
// backwards (streams of several contexts merged) are sent at once.
func Play(ctx context.Context, events []Event, speed float64) <-chan Event {
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		if len(events) == 0 {
			return
		}
		start, began := events[0].Time, time.Now()
		for i := range events {
			if speed > 0 {
				due := began.Add(time.Duration(float64(events[i].Time.Sub(start)) / speed))
				if wait := time.Until(due); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return
					}
				}
			}
			select {
			case out <- events[i]:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
