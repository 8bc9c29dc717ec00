package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

// gateWriter is a log's reader that stalls: each Write waits until the gate
// opens (a closed gate never stalls), as a write to a full pipe waits for a
// reader that never comes.
type gateWriter struct {
	gate    chan struct{}
	entered chan struct{} // one token per Write that began

	mu  sync.Mutex
	out bytes.Buffer
}

func newGateWriter() *gateWriter {
	return &gateWriter{gate: make(chan struct{}), entered: make(chan struct{}, 1<<16)}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}

func (g *gateWriter) open() { close(g.gate) }

func (g *gateWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.String()
}

// waitEntered waits until the queue's goroutine is inside a Write.
func (g *gateWriter) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the queue never wrote to its writer")
	}
}

func closeQueue(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func rawNotice(n uint64) []byte { return fmt.Appendf(nil, "dropped %d\n", n) }

// A writer that never returns must not hold up a single Write: the queue
// takes what fits and counts the rest, however many lines come.
func TestQueueNeverBlocks(t *testing.T) {
	g := newGateWriter()
	defer g.open()
	q := NewQueue(g, rawNotice, 1<<10)
	const lines = 100_000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range lines {
			fmt.Fprintf(q, "line %d\n", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d writes did not return in 10s with the writer stalled: Write blocks", lines)
	}
	if d := q.Dropped(); d < lines-400 || d >= lines { // the writer's batch and the queue: 2 KiB at most
		t.Errorf("dropped %d of %d lines into a 1 KiB queue", d, lines)
	}
}

// What fits is kept, what does not is counted, and the next line that fits
// is preceded by the count: the notice marks the gap where it is.
func TestQueueDropsAndCounts(t *testing.T) {
	tests := []struct {
		name        string
		max         int
		queued      int    // lines written while the first one is stuck in the writer
		after       int    // lines written once the writer took them all
		wantDropped uint64 // counted
		wantOut     string
	}{{
		name:    "everything fits",
		max:     64,
		queued:  3,
		after:   1,
		wantOut: "l00\nl01\nl02\nl03\nl04\n",
	}, {
		// 4 bytes a line: l01-l04 fill 16 bytes, l05-l07 are dropped; then
		// "dropped 3\n" (10) and l08 (4) need 14 of the 16.
		name:        "full: the gap is marked",
		max:         16,
		queued:      7,
		after:       2,
		wantDropped: 3,
		wantOut:     "l00\nl01\nl02\nl03\nl04\ndropped 3\nl08\nl09\n",
	}, {
		// A line that does not fit with its notice is dropped too, and the
		// notice then counts it; Close writes the notice still owed.
		name:        "no room for the notice: Close writes it",
		max:         12,
		queued:      4,
		after:       1,
		wantDropped: 2,
		wantOut:     "l00\nl01\nl02\nl03\ndropped 2\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateWriter()
			q := NewQueue(g, rawNotice, tt.max)
			n := 0
			line := func() { fmt.Fprintf(q, "l%02d\n", n); n++ }
			line()
			g.waitEntered(t) // l00 is in the writer, the queue empty
			for range tt.queued {
				line()
			}
			g.open()
			flush(t, q)
			for range tt.after { // one at a time: the queue is small
				line()
				flush(t, q)
			}
			closeQueue(t, q)
			if got := q.Dropped(); got != tt.wantDropped {
				t.Errorf("Dropped() = %d, want %d", got, tt.wantDropped)
			}
			if got := g.String(); got != tt.wantOut {
				t.Errorf("wrote\n%s\nwant\n%s", got, tt.wantOut)
			}
		})
	}
}

func flush(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// The notice is a line of the log's own format, at warning level, so a
// JSON reader parses every line, and a person reading text sees it.
func TestQueueNoticeFormats(t *testing.T) {
	tests := []struct {
		format string
		parse  func(line string) (msg string, dropped string, err error)
	}{{
		format: "json",
		parse: func(line string) (string, string, error) {
			var v struct {
				Level   string
				Msg     string
				Dropped json.Number
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				return "", "", err
			}
			if v.Msg == DroppedMsg && v.Level != "WARN" {
				return "", "", fmt.Errorf("notice at level %s", v.Level)
			}
			return v.Msg, v.Dropped.String(), nil
		},
	}, {
		format: "text",
		parse: func(line string) (string, string, error) {
			if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " level=") {
				return "", "", errors.New("not a slog text line")
			}
			msg, dropped := "", ""
			if i := strings.Index(line, " msg="); i >= 0 {
				msg = line[i+len(" msg="):]
				if j := strings.Index(msg, " dropped="); j >= 0 {
					msg, dropped = msg[:j], msg[j+len(" dropped="):]
				}
			}
			if strings.Contains(line, "dropped") && !strings.Contains(line, "level=WARN") {
				return "", "", errors.New("notice not at level WARN")
			}
			return strings.Trim(msg, `"`), dropped, nil
		},
	}}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			g := newGateWriter()
			q := NewQueue(g, func(n uint64) []byte { return droppedNotice(tt.format, n) }, 600)
			h, err := handler(q, tt.format, slog.LevelDebug)
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(h)
			log.Info("first")
			g.waitEntered(t)
			for i := range 50 { // about 60 bytes a line: most are dropped
				log.Debug("burst", "i", i)
			}
			g.open()
			flush(t, q)
			log.Info("after")
			closeQueue(t, q)

			out := strings.Split(strings.TrimSuffix(g.String(), "\n"), "\n")
			var msgs []string
			noticeAt, counted := -1, ""
			for i, line := range out {
				msg, dropped, err := tt.parse(line)
				if err != nil {
					t.Fatalf("line %d does not parse as %s: %v\n%s", i, tt.format, err, line)
				}
				if msg == DroppedMsg {
					noticeAt, counted = i, dropped
				}
				msgs = append(msgs, msg)
			}
			if noticeAt < 0 {
				t.Fatalf("no notice of the dropped lines:\n%s", g.String())
			}
			if want := fmt.Sprint(q.Dropped()); counted != want || q.Dropped() == 0 {
				t.Errorf("the notice counts %s lines, Dropped() %s", counted, want)
			}
			if noticeAt != len(msgs)-2 || msgs[len(msgs)-1] != "after" {
				t.Errorf("the notice is not just before the line after the gap: %q", msgs)
			}
		})
	}
}

// Lines reach the writer whole and in the order written, however the
// writer's pace splits them into batches.
func TestQueueOrder(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	slow := writerFunc(func(p []byte) (int, error) {
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	q := NewQueue(slow, rawNotice, 1<<20)
	const n = 5000
	for i := range n {
		fmt.Fprintf(q, "line %d\n", i)
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // let a batch go
		}
	}
	closeQueue(t, q)
	if d := q.Dropped(); d != 0 {
		t.Fatalf("dropped %d lines with room for all", d)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines written, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Flush and Close return by their context's end when the writer never
// does: a process on its way out must not hang on its log. Close still
// owes the notice of lines dropped at the end, and later lines are dropped.
func TestQueueFlushAndCloseAreBounded(t *testing.T) {
	g := newGateWriter()
	q := NewQueue(g, rawNotice, 8)
	fmt.Fprint(q, "stuck\n")
	g.waitEntered(t)
	fmt.Fprint(q, "queued\n")
	fmt.Fprint(q, "dropped\n")
	for _, end := range []struct {
		name string
		f    func(context.Context) error
	}{{"Flush", q.Flush}, {"Close", q.Close}} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		errc := make(chan error, 1)
		go func() { errc <- end.f(ctx) }()
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with the writer stalled returned %v, want the deadline", end.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s with a 100ms bound has not returned after 5s", end.name)
		}
		cancel()
	}
	fmt.Fprint(q, "after close\n")
	if d := q.Dropped(); d != 2 {
		t.Errorf("Dropped() = %d, want 2 (one before Close, one after)", d)
	}
	g.open()
	closeQueue(t, q)
	if got, want := g.String(), "stuck\nqueued\ndropped 1\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// Lines the writer refuses are lost as surely as dropped ones: counted, and
// the notice follows once the writer works again.
func TestQueueCountsWriteErrors(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	fail := true
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return 0, errors.New("EIO")
		}
		return out.Write(p)
	})
	q := NewQueue(w, rawNotice, 1<<10)
	fmt.Fprint(q, "a\nb\n") // one write, two lines
	flush(t, q)
	mu.Lock()
	fail = false
	mu.Unlock()
	fmt.Fprint(q, "c\n")
	closeQueue(t, q)
	if d := q.Dropped(); d != 2 {
		t.Errorf("Dropped() = %d, want 2", d)
	}
	if got, want := out.String(), "dropped 2\nc\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// New refuses an unknown format and logs through a queue: a stalled writer
// does not hold up the logger, and the drops are counted.
func TestNew(t *testing.T) {
	if _, _, err := New(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml accepted")
	}
	g := newGateWriter()
	defer g.open()
	log, q, err := New(g, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10_000 {
			log.Info("a line of about a hundred bytes", "pad", strings.Repeat("x", 40))
		}
		// client-go's klog and the standard log go the same way.
		for range 10_000 {
			klog.InfoS("through klog", "pad", strings.Repeat("x", 40))
			stdlog.Printf("through the standard log %s", strings.Repeat("x", 40))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the logger blocked on a stalled writer")
	}
	if q.Dropped() < 25_000 {
		t.Errorf("dropped %d of 30,000 lines of 100 bytes with the writer stalled and room for 256 KiB: klog or the standard log bypass the queue", q.Dropped())
	}
}
