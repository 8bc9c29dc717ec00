package elect

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/leader-elector/leader-elector/elect/child"
	"github.com/leader-elector/leader-elector/elect/endpoints"
	"github.com/leader-elector/leader-elector/elect/leadership"
)

// The driver's boundary. Everything the driver does to the world goes
// through these interfaces, so that the simulation (sim_*_test.go) runs the
// driver's own code, its gates, its tasks and their order, with I/O that
// fails and stalls, on its own clock and scheduler. The process's own
// implementations are below and in leaseio.go and podlabel.go.

// host is what the driver needs of its surroundings besides I/O: a
// clock, concurrent tasks, the loop's timer, and the way a task reports a
// result to the loop.
type host interface {
	mono() time.Duration
	wall() time.Time
	// spawn runs task concurrently; the driver waits for it on exit, so
	// every task must end (requests are bounded, and a child's watcher
	// ends when a stop gives up on it).
	spawn(task func())
	// report hands a task's result to the loop, the one way inputs reach
	// the machine besides the loop's own (start, timer, shutdown); after
	// the loop ended there is nobody to tell.
	report(in leadership.Input)
	// setTimer asks for a Tick at at on the mono clock; 0 cancels.
	setTimer(at time.Duration)
	// withTimeout bounds a request's context by d on the host's clock.
	withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// fileSystem writes the status and leader files.
type fileSystem interface {
	// stage writes and syncs content beside path, not yet visible.
	stage(path string, content []byte) (stagedFile, error)
	// remove removes path; a missing file is not an error.
	remove(path string) error
}

// stagedFile is content ready to become visible with one quick step.
type stagedFile interface {
	commit() error // must be quick: it runs inside a term's gate
	discard()
	syncDir()
}

// processes starts the command of exec mode.
type processes interface {
	// start starts argv with env (KEY=VALUE entries) added to the
	// sidecar's own environment, overriding it; it must be quick (fork and
	// exec): it runs inside a term's gate.
	start(argv, env []string, log *slog.Logger) (process, error)
}

// process is a started command and its process tree.
type process interface {
	// wait blocks until the command exits (exited, with its code) or a
	// stop gave up on it: then it may still run, and nobody waits for it
	// any more, so that it cannot keep the sidecar from exiting.
	wait() (code int, exited bool)
	// stop ends the command and every descendant: SIGTERM, SIGKILL after
	// grace. An error means something may still run.
	stop(grace time.Duration) error
}

// sink takes what the driver reports to people and to the endpoints. No
// method may block: nothing may stand between a deadline and stopping to
// act.
type sink interface {
	publish(p leadership.Publish)
	count(name leadership.MetricName, at time.Time)
	reachable(err error)
	event(warning bool, reason, message string)
}

// osFiles is the fileSystem of the process: atomic writes (atomicfile.go).
type osFiles struct{}

func (osFiles) stage(path string, content []byte) (stagedFile, error) {
	return prepareAtomic(path, content)
}

func (osFiles) remove(path string) error { return removeFile(path) }

// osProcesses starts real processes (package child).
type osProcesses struct{}

func (osProcesses) start(argv, env []string, log *slog.Logger) (process, error) {
	opts := child.Options{Logger: log}
	if len(env) > 0 {
		// exec.Cmd keeps the last of duplicate keys: ours win.
		opts.Env = append(os.Environ(), env...)
	}
	p, err := child.Start(argv, opts)
	if err != nil {
		return nil, err
	}
	return &osProcess{p: p, gaveUp: make(chan struct{})}, nil
}

type osProcess struct {
	p      *child.Process
	gaveUp chan struct{} // closed when a stop could not confirm it gone
	once   sync.Once
}

func (o *osProcess) wait() (int, bool) {
	select {
	case <-o.p.Done():
		return o.p.ExitCode(), true
	case <-o.gaveUp:
		return 0, false
	}
}

func (o *osProcess) stop(grace time.Duration) error {
	err := o.p.Stop(context.Background(), grace)
	if err != nil {
		o.once.Do(func() { close(o.gaveUp) })
	}
	return err
}

// procHost is the host of the process: goroutines, the wall clock and
// a timer, with results sent to the loop on a channel.
type procHost struct {
	start  time.Time // the monotonic origin of mono
	inputs chan leadership.Input
	quit   chan struct{} // closed when the loop has ended
	timer  *time.Timer
	wg     sync.WaitGroup
}

func newProcHost() *procHost {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &procHost{start: time.Now(), inputs: make(chan leadership.Input, 16), quit: make(chan struct{}), timer: t}
}

func (p *procHost) mono() time.Duration { return time.Since(p.start) }
func (p *procHost) wall() time.Time     { return time.Now() }
func (p *procHost) spawn(task func())   { p.wg.Go(task) }

func (p *procHost) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func (p *procHost) report(in leadership.Input) {
	select {
	case p.inputs <- in:
	case <-p.quit:
	}
}

func (p *procHost) setTimer(at time.Duration) {
	p.timer.Stop()
	if at > 0 {
		p.timer.Reset(max(at-p.mono(), 0))
	}
}

// stop ends the host: reports are dropped, and it waits for
// the spawned tasks (requests are bounded by their timeout).
func (p *procHost) stop() {
	close(p.quit)
	p.wg.Wait()
}

// serverSink reports to the endpoints server (nil: endpoints off) and
// records Events.
type serverSink struct {
	srv    *endpoints.Server
	events *eventSender // nil until the election starts
	cfg    Config
}

func (s *serverSink) publish(p leadership.Publish) {
	if s.srv == nil {
		return
	}
	// Term orders states, so a late one of an ended term cannot win. The
	// token is the term's only while it acts: 0 otherwise (docs/fencing.md).
	var token uint64
	if p.Leading {
		token = p.Token
	}
	s.srv.Publish(endpoints.LeaderInfo{
		Term:             p.Term,
		Leader:           p.Record.Holder,
		Identity:         s.cfg.Identity,
		IsLeader:         p.Leading,
		Token:            token,
		LeaseTransitions: p.Record.Transitions,
		AcquireTime:      p.Record.AcquireTime,
		RenewTime:        p.Record.RenewTime,
	})
}

func (s *serverSink) count(name leadership.MetricName, at time.Time) {
	if s.srv == nil {
		return
	}
	m := s.srv.Metrics()
	switch name {
	case leadership.RenewOK:
		m.RenewSucceeded(at)
	case leadership.RenewFailed:
		m.RenewFailed()
	case leadership.Collision:
		m.Collision()
	}
}

// reachable keeps /readyz in step with the API server: ready while it
// answers, not ready while requests get no answer.
func (s *serverSink) reachable(err error) {
	if s.srv == nil {
		return
	}
	if answered(err) {
		s.srv.SetReady(true)
		return
	}
	s.srv.SetNotReady("the API server does not answer: " + err.Error())
}

func (s *serverSink) event(warning bool, reason, message string) {
	s.eventFor(s.cfg.LeaseName, warning, reason, message)
}

// eventFor records an Event on the Lease called lease.
func (s *serverSink) eventFor(lease string, warning bool, reason, message string) {
	if s.events == nil {
		return
	}
	typ := "Normal" // core/v1's EventTypeNormal and EventTypeWarning
	if warning {
		typ = "Warning"
	}
	s.events.sendFor(lease, typ, reason, message)
}
