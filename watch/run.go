package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// RunOptions say where the events of a live run go.
type RunOptions struct {
	// Show consumes the events until the user quits or ctx is done: the
	// dashboard (package tui), handed in so that this package draws
	// nothing. Nil writes JSON lines to Stdout instead.
	Show func(ctx context.Context, events <-chan Event) error
	// Stdout receives the JSON lines when Show is nil.
	Stdout io.Writer
	// Recording, when set, records every event the consumer gets.
	Recording *RecordingFile
}

// Run runs fleet and hands its events to opts.Show or to the JSON lines
// writer, through the recording when there is one, until the watch ends
// or ctx is done. A watch that fails (RBAC at start; with several
// contexts, all of them) closes the dashboard so its error reaches the
// terminal. A recording that could not be written in full is an error
// once the run is over, unless the run failed first.
func Run(ctx context.Context, fleet *Fleet, opts RunOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := fleet.Events()
	var recErr <-chan error
	if opts.Recording != nil {
		events, recErr = opts.Recording.rec.Tee(ctx, events)
	}
	var err error
	if opts.Show == nil {
		err = streamJSON(ctx, opts.Stdout, fleet.Run, events)
	} else {
		err = show(ctx, fleet.Run, events, opts.Show)
	}
	if recErr == nil {
		return err
	}
	// Let the recorder write and flush its last lines before the file is
	// closed.
	cancel()
	var rerr error
	for e := range recErr {
		rerr = cmp.Or(rerr, e)
	}
	if err == nil && rerr != nil {
		return fmt.Errorf("the recording %s is incomplete: %w; check the disk", opts.Recording.path, rerr)
	}
	return err
}

// streamJSON writes events as JSON lines until the watch ends or ctx is
// done.
func streamJSON(ctx context.Context, stdout io.Writer, run func(context.Context) error, events <-chan Event) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx) }()
	werr := WriteJSONLines(ctx, stdout, events)
	cancel()
	err := <-runErr
	if err != nil {
		return err // the watch's own failure explains the end best
	}
	if werr != nil && !errors.Is(werr, context.Canceled) {
		return werr
	}
	return nil // stopped by a signal after start: a clean end
}

// show hands the events to a consumer that ends when the user quits; a
// watch that fails cancels it.
func show(ctx context.Context, run func(context.Context) error, events <-chan Event, consume func(context.Context, <-chan Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		err := run(ctx)
		if err != nil {
			cancel()
		}
		runErr <- err
	}()
	serr := consume(ctx, events)
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if serr != nil && !errors.Is(serr, context.Canceled) {
		return serr
	}
	return nil
}

// RecordingFile is a recording being written to a file of its own.
type RecordingFile struct {
	path string
	f    *os.File
	rec  *Recorder
}

// CreateRecording creates the file at path (never one that exists: it is
// not ours to overwrite) and writes the header. Its errors are
// configuration errors naming the fix.
func CreateRecording(path string, h RecordingHeader) (*RecordingFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, exitcode.Configf("--record %s: the file exists; choose a new name (a recording never overwrites a file)", path)
		}
		return nil, exitcode.Configf("cannot create the recording: %w; pass --record with a writable path", err)
	}
	rec, err := NewRecorder(f, h)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &RecordingFile{path: path, f: f, rec: rec}, nil
}

// Close closes the file; Run has flushed it.
func (r *RecordingFile) Close() error { return r.f.Close() }

// ContextLease is one Lease as one context's API server listed it: the
// object, and the watch's judgement of it.
type ContextLease struct {
	Context string
	Object  coordinationv1.Lease
	Lease   LeaseState
}

// ListTarget is one context to list (watch --once).
type ListTarget struct {
	Context string
	API     API
	Options ListOptions
	// Timeout bounds the request (--connect-timeout); 0: no bound.
	Timeout time.Duration
}

// ListAll lists every target's Leases at once (watch --once), one request
// each, and returns them in the targets' order, each one's in
// namespace/name order. A context that fails is left out and its error
// returned beside the others' Leases (named by its context when there are
// several), so answered tells how many contexts did answer. When ctx ends
// first it returns ctx's error alone.
func ListAll(ctx context.Context, targets []ListTarget) (rows []ContextLease, answered int, err error) {
	results := make([]*Listing, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			lctx, cancel := ctx, context.CancelFunc(func() {})
			if t.Timeout > 0 {
				lctx, cancel = context.WithTimeout(ctx, t.Timeout)
			}
			defer cancel()
			results[i], errs[i] = List(lctx, t.API, t.Options)
			if errs[i] != nil && ctx.Err() == nil && lctx.Err() != nil {
				errs[i] = &Failure{Resource: ResourceLeases, Reason: ReasonUnreachable,
					Err: fmt.Errorf("cannot reach the API server within the connect timeout (%s); check the server address and network, or raise --connect-timeout", t.Timeout)}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	var failed []error
	for i, l := range results {
		if errs[i] != nil && l == nil {
			e := errs[i]
			if len(targets) > 1 {
				e = ContextError(targets[i].Context, e)
			}
			failed = append(failed, e)
			continue
		}
		if errs[i] != nil { // an answer, less some Leases asked for by name
			e := errs[i]
			if len(targets) > 1 {
				e = ContextError(targets[i].Context, e)
			}
			failed = append(failed, e)
		}
		answered++
		for j := range l.Leases {
			rows = append(rows, ContextLease{Context: targets[i].Context, Object: l.Leases[j], Lease: l.States[j]})
		}
	}
	return rows, answered, errors.Join(failed...)
}

// OpenRecording reads the recording at path for --replay. A file that
// cannot be opened, or whose first event is unreadable, is a
// configuration error naming the fix; later damage is kept in
// Recording.Damage (see DamageErr).
func OpenRecording(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, exitcode.Configf("cannot open the recording: %w; pass --replay with a file written by --record (or by -o json)", unwrapPath(err))
	}
	defer f.Close()
	rec, err := ReadRecording(f)
	if err != nil {
		return nil, err
	}
	rec.path = path
	if len(rec.Events) == 0 && rec.Damage != nil && (rec.Damage.Line == 1 || rec.HasHeader && rec.Damage.Line == 2) {
		return nil, exitcode.Configf("%s is not a recording (%w); pass a file written by --record or by -o json", path, rec.Damage)
	}
	if len(rec.Events) == 0 && rec.Damage == nil {
		return nil, exitcode.Configf("%s holds no events (it is empty or has only its header): nothing to replay; pass a recording written while the watch ran", path)
	}
	return rec, nil
}

// DamageErr is nil for a whole recording, else an error saying where the
// replay stopped.
func (r *Recording) DamageErr() error {
	if r.Damage == nil {
		return nil
	}
	return fmt.Errorf("the recording %s is damaged: replay stopped at line %d (%w); the events before it were replayed", r.path, r.Damage.Line, r.Damage.Err)
}

// ReplayJSON writes the recording's events as JSON lines at speed (see
// Play). A signal ends it cleanly; a damaged recording is an error once
// the events before the damage are written.
func ReplayJSON(ctx context.Context, w io.Writer, rec *Recording, speed float64) error {
	err := WriteJSONLines(ctx, w, Play(ctx, rec.Events, speed))
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if ctx.Err() != nil {
		return nil // stopped by a signal: a clean end
	}
	return rec.DamageErr()
}

// unwrapPath drops the *PathError prefix, which repeats the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
