package elect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/leader-elector/leader-elector/elect/child"
	"github.com/leader-elector/leader-elector/elect/endpoints"
	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// driver owns all of elect's I/O and steps the leadership machine with what
// happens. Its loop is the machine's only caller; slow work (requests, the
// file's fsync, the child's start and stop) runs in goroutines that report
// back on inputs, so the loop always gets to a deadline on time.
type driver struct {
	cfg    Config
	log    *slog.Logger
	m      *leadership.Machine
	api    *leaseAPI
	srv    *endpoints.Server // nil: endpoints off
	events *eventSender
	start  time.Time // the monotonic origin of Now.Mono

	inputs chan input
	quit   chan struct{} // closed when the loop has ended
	timer  *time.Timer

	fileGate, childGate *termGate
	children            sync.Map // term -> *childSlot
	leaderFile          chan string

	// The leader label (nil: off). podMu orders the patches of our own Pod,
	// so an ended term's removal cannot overtake its own labelling, nor a
	// later term's; labelBegun is the latest term that asked for the label.
	label      *podLabel
	labelGate  *termGate
	podMu      sync.Mutex
	labelBegun atomic.Uint64

	lastObj *coordinationv1.Lease // the newest Lease object seen: what updates are based on
	busy    atomic.Int64          // unix nanos when the current step began (0: idle), for /healthz
	wg      sync.WaitGroup
	exit    leadership.Exit
}

// input is what a goroutine reports: a machine input, and the Lease object
// it carried (if any), which later updates are based on.
type input struct {
	in  leadership.Input
	obj *coordinationv1.Lease
}

func (d *driver) mono() time.Duration { return time.Since(d.start) }

func (d *driver) now() leadership.Now {
	return leadership.Now{Mono: d.mono(), Wall: time.Now()}
}

// send reports to the loop; after the loop ended there is nobody to tell.
func (d *driver) send(in leadership.Input, obj *coordinationv1.Lease) {
	select {
	case d.inputs <- input{in: in, obj: obj}:
	case <-d.quit:
	}
}

// run steps the machine until it exits; ctx's end asks it to shut down.
func (d *driver) run(ctx context.Context) error {
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	d.quit = make(chan struct{})
	d.timer = time.NewTimer(time.Hour)
	d.timer.Stop()
	d.leaderFile = make(chan string, 1)
	leaderFileDone := make(chan struct{})
	go d.writeLeaderFile(d.leaderFile, leaderFileDone)
	defer func() {
		stopWatch()
		close(d.quit)
		d.wg.Wait() // requests are bounded by their timeout
		close(d.leaderFile)
		<-leaderFileDone
	}()

	d.step(leadership.Start{})
	d.wg.Go(func() {
		d.api.follow(watchCtx, d.cfg.RetryPeriod, func(ev watchEvent) {
			if ev.err != nil {
				d.log.Warn("watch of the Lease interrupted; listing it again", "err", ev.err)
				d.reachable(ev.err)
				return
			}
			d.reachable(nil)
			select {
			case d.inputs <- input{in: leadership.Observed{Lease: ev.lease}, obj: ev.obj}:
			case <-watchCtx.Done():
			}
		})
	})

	done := ctx.Done()
	for !d.m.Done() {
		select {
		case in := <-d.inputs:
			if in.obj != nil && (d.lastObj == nil || leadership.Newer(in.obj.ResourceVersion, d.lastObj.ResourceVersion)) {
				d.lastObj = in.obj
			}
			d.step(in.in)
		case <-d.timer.C:
			d.step(leadership.Tick{})
		case <-done:
			done = nil
			d.step(leadership.Shutdown{})
		}
	}
	return d.result()
}

func (d *driver) result() error {
	if d.exit.Code == 0 {
		return nil
	}
	return exitcode.WithCode(d.exit.Code, errors.New(d.exit.Reason))
}

func (d *driver) step(in leadership.Input) {
	d.busy.Store(time.Now().UnixNano())
	defer d.busy.Store(0)
	for _, e := range d.m.Step(d.now(), in) {
		d.do(e)
	}
}

// do carries out one effect. Anything that may block runs in a goroutine.
func (d *driver) do(e leadership.Effect) {
	switch e := e.(type) {
	case leadership.Write:
		base := d.lastObj
		d.wg.Go(func() { d.send(d.writeLease(e, base)) })
	case leadership.Read:
		d.wg.Go(func() { d.send(d.readLease(e.Seq)) })
	case leadership.ShowFile:
		d.fileGate.begin(e.Term, e.Until)
		d.wg.Go(func() { d.send(d.showFile(e.Term), nil) })
	case leadership.ExtendTerm:
		d.fileGate.extend(e.Term, e.Until)
		d.childGate.extend(e.Term, e.Until)
		if d.label != nil {
			d.labelGate.extend(e.Term, e.Until)
		}
	case leadership.LabelPod:
		d.labelGate.begin(e.Term, e.Until)
		d.labelBegun.Store(e.Term)
		d.wg.Go(func() { d.send(d.labelPod(e.Term), nil) })
	case leadership.UnlabelPod:
		// Its own goroutine: HideFile's, started just before, never waits
		// for the API server.
		d.wg.Go(func() { d.unlabelPod(e.Term) })
	case leadership.HideFile:
		d.wg.Go(func() { d.send(d.hideFile(e.Term), nil) })
	case leadership.StartChild:
		d.childGate.begin(e.Term, e.Until)
		slot := &childSlot{started: make(chan struct{})}
		d.children.Store(e.Term, slot)
		d.wg.Go(func() { d.send(d.startChild(e.Term, slot), nil) })
	case leadership.StopChild:
		d.wg.Go(func() { d.send(d.stopChild(e.Term), nil) })
	case leadership.Publish:
		d.publish(e)
	case leadership.LeaderFile:
		if d.cfg.LeaderFile == "" {
			return
		}
		select { // latest wins: drop a write not yet started
		case <-d.leaderFile:
		default:
		}
		d.leaderFile <- e.Holder
	case leadership.SetTimer:
		d.timer.Stop()
		if e.At > 0 {
			d.timer.Reset(max(e.At-d.mono(), 0))
		}
	case leadership.Event:
		typ := "Normal" // core/v1's EventTypeNormal and EventTypeWarning
		if e.Warning {
			typ = "Warning"
		}
		d.events.send(typ, e.Reason, e.Message)
	case leadership.Metric:
		d.count(e.Name)
	case leadership.Log:
		d.log.Log(context.Background(), e.Level, e.Msg, e.Args...)
	case leadership.Exit:
		d.exit = e
		d.log.Info("exiting", "code", e.Code, "reason", e.Reason)
	}
}

// writeLease sends one write and reports its outcome, with the stored
// object that later updates are based on.
func (d *driver) writeLease(w leadership.Write, base *coordinationv1.Lease) (leadership.Input, *coordinationv1.Lease) {
	obj, err := d.api.write(context.Background(), w, base)
	d.reachable(err)
	res := leadership.WriteResult{Seq: w.Seq, Outcome: classify(err)}
	if err != nil {
		res.Err = err.Error()
		return res, nil
	}
	res.Lease = toLease(obj)
	return res, obj
}

// readLease gets the Lease; a missing one is an answer, not an error.
func (d *driver) readLease(seq uint64) (leadership.Input, *coordinationv1.Lease) {
	obj, err := d.api.read(context.Background())
	d.reachable(err)
	res := leadership.ReadResult{Seq: seq}
	switch {
	case err == nil:
		res.Lease = toLease(obj)
		return res, obj
	case classify(err) != leadership.NotFound:
		res.Err = err.Error()
	}
	return res, nil
}

// hideFile ends term's gate, so a write still in flight cannot show the
// file, then removes it.
func (d *driver) hideFile(term uint64) leadership.Input {
	d.fileGate.end(term)
	if err := removeFile(d.cfg.StatusFile); err != nil {
		return leadership.FileHidden{Term: term, Err: err.Error()}
	}
	d.log.Info("not leading: status file removed", "file", d.cfg.StatusFile, "term", term)
	return leadership.FileHidden{Term: term}
}

// showFile writes the status file and makes it visible if the term is
// still open: the slow part (write, fsync) before the gate, the rename
// inside it.
func (d *driver) showFile(term uint64) leadership.Input {
	tmp, err := prepareAtomic(d.cfg.StatusFile, []byte(d.cfg.Identity))
	if err != nil {
		return leadership.FileShown{Term: term, Err: err.Error()}
	}
	shown, err := d.fileGate.show(term, tmp.commit)
	if !shown || err != nil {
		tmp.discard()
	}
	switch {
	case err != nil:
		return leadership.FileShown{Term: term, Err: err.Error()}
	case !shown:
		return leadership.FileShown{Term: term, Aborted: true}
	}
	tmp.syncDir()
	return leadership.FileShown{Term: term, OK: true}
}

// labelPod puts the leader label on our Pod for term, after taking it off
// every other Pod, unless the term ends or its deadline passes first.
func (d *driver) labelPod(term uint64) leadership.Input {
	d.podMu.Lock()
	defer d.podMu.Unlock()
	err := d.label.label(context.Background(), func() (time.Duration, bool) { return d.labelGate.remaining(term) })
	switch {
	case errors.Is(err, errTermClosed):
		return leadership.PodLabeled{Term: term, Aborted: true}
	case err != nil:
		return leadership.PodLabeled{Term: term, Err: err.Error()}
	}
	return leadership.PodLabeled{Term: term, OK: true}
}

// unlabelPod takes the leader label off our Pod after term ended, retrying
// every retry period until it succeeds, a later term has asked for the label
// (which then owns it), or the driver stops; the machine hears of every
// attempt.
func (d *driver) unlabelPod(term uint64) {
	d.labelGate.end(term)
	for {
		d.podMu.Lock()
		var err error
		if d.labelBegun.Load() <= term {
			err = d.label.unlabel(context.Background())
		}
		d.podMu.Unlock()
		if err == nil {
			d.send(leadership.PodUnlabeled{Term: term}, nil)
			return
		}
		d.send(leadership.PodUnlabeled{Term: term, Err: err.Error()}, nil)
		select {
		case <-d.quit:
			return
		case <-time.After(d.cfg.RetryPeriod):
		}
	}
}

func (d *driver) publish(p leadership.Publish) {
	if d.srv == nil {
		return
	}
	// The metric follows what Publish takes, in the same order; Term
	// orders states, so a late one of an ended term cannot win.
	d.srv.Publish(endpoints.LeaderInfo{
		Term:             p.Term,
		Leader:           p.Record.Holder,
		Identity:         d.cfg.Identity,
		IsLeader:         p.Leading,
		LeaseTransitions: p.Record.Transitions,
		AcquireTime:      p.Record.AcquireTime,
		RenewTime:        p.Record.RenewTime,
	})
}

func (d *driver) count(name leadership.MetricName) {
	if d.srv == nil {
		return
	}
	m := d.srv.Metrics()
	switch name {
	case leadership.RenewOK:
		m.RenewSucceeded(time.Now())
	case leadership.RenewFailed:
		m.RenewFailed()
	case leadership.Collision:
		m.Collision()
	}
}

// reachable keeps /readyz in step with the API server: ready while it
// answers, not ready while requests get no answer.
func (d *driver) reachable(err error) {
	if d.srv == nil {
		return
	}
	if answered(err) {
		d.srv.SetReady(true)
		return
	}
	d.srv.SetNotReady("the API server does not answer: " + err.Error())
}

// healthz fails when the loop is stuck in one step: then neither deadlines
// nor renewals are handled.
func (d *driver) healthz() error {
	if since := d.busy.Load(); since != 0 {
		if stuck := time.Since(time.Unix(0, since)); stuck > 10*time.Second {
			return fmt.Errorf("the election loop has been stuck for %v", stuck.Round(time.Second))
		}
	}
	return nil
}

// writeLeaderFile keeps the leader file in step with the holder, on its own
// goroutine: it is a convenience, never a promise, so it must not hold up
// the loop.
func (d *driver) writeLeaderFile(holders <-chan string, done chan<- struct{}) {
	defer close(done)
	for holder := range holders {
		var err error
		if holder == "" {
			err = removeFile(d.cfg.LeaderFile)
		} else {
			err = writeAtomic(d.cfg.LeaderFile, []byte(holder))
		}
		if err != nil {
			d.log.Error("could not update the leader file", "file", d.cfg.LeaderFile, "err", err)
		}
	}
}

// childSlot is one term's child: started is closed once the start was
// tried (p nil if it did not start).
type childSlot struct {
	started chan struct{}
	p       *child.Process
}

func (d *driver) startChild(term uint64, slot *childSlot) leadership.Input {
	defer close(slot.started)
	shown, err := d.childGate.show(term, func() (err error) {
		slot.p, err = child.Start(d.cfg.Command, child.Options{Logger: d.log.With("child", d.cfg.Command[0])})
		return err
	})
	switch {
	case err != nil:
		return leadership.ChildStarted{Term: term, Err: err.Error()}
	case !shown:
		return leadership.ChildStarted{Term: term, Aborted: true}
	}
	p := slot.p
	// Not counted in wg: a child that will not die must not keep the
	// sidecar from exiting.
	go func() {
		<-p.Done()
		d.send(leadership.ChildExited{Term: term, Code: p.ExitCode()}, nil)
	}()
	return leadership.ChildStarted{Term: term}
}

// stopChild stops term's child and every process it started: SIGTERM, then
// SIGKILL after the grace.
func (d *driver) stopChild(term uint64) leadership.Input {
	d.childGate.end(term)
	v, ok := d.children.LoadAndDelete(term)
	if !ok {
		return leadership.ChildStopped{Term: term, Gone: true}
	}
	slot := v.(*childSlot)
	<-slot.started
	if slot.p == nil {
		return leadership.ChildStopped{Term: term, Gone: true}
	}
	if err := slot.p.Stop(context.Background(), d.cfg.Grace); err != nil {
		d.log.Error("stopping the command", "err", err)
		return leadership.ChildStopped{Term: term, Gone: false}
	}
	return leadership.ChildStopped{Term: term, Gone: true}
}
