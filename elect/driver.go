package elect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// driver carries out the leadership machine's effects and steps it with
// what happens. It decides nothing: it executes, within the gates that keep
// a late effect of an ended term from showing, and reports. Slow work
// (requests, the file's fsync, the child's start and stop) runs on tasks
// that report back, so stepping never waits on I/O and the machine gets to
// every deadline on time. The same code runs in the process (loop.go) and
// in the simulation, which supplies its own host and ports.
type driver struct {
	cfg   Config
	log   *slog.Logger
	m     *leadership.Machine
	rt    host
	api   *leaseAPI
	files fileSystem
	procs processes
	out   sink

	fileGate, childGate *termGate
	children            sync.Map // term -> *childSlot
	leaderFile          latest

	// The leader label (nil: off). podOps orders the patches of our own
	// Pod, so an ended term's removal cannot overtake its own labelling,
	// nor a later term's; labelBegun is the latest term that asked for
	// the label.
	label      *podLabel
	labelGate  *termGate
	podOps     serial
	labelBegun atomic.Uint64

	// trace, when set, sees every effect before it is carried out: the
	// simulation's checker keeps its books with it.
	trace func(leadership.Effect)

	// fed says someone else follows the Lease and reports what it sees (a
	// shard group's one watch): run starts no watch of its own.
	fed bool
	// content is what the status file holds for a term's token: the
	// identity alone, or a shard file's lines.
	content func(token uint64) []byte

	busy atomic.Int64 // unix nanos when the current step began (0: idle), for /healthz
	exit leadership.Exit
}

// ports are the driver's I/O; nil fields get the process's own.
type ports struct {
	files fileSystem
	procs processes
	out   sink
}

func newDriver(cfg Config, log *slog.Logger, rt host, api API, p ports) *driver {
	if p.files == nil {
		p.files = osFiles{}
	}
	if p.procs == nil {
		p.procs = osProcesses{}
	}
	d := &driver{
		cfg:   cfg,
		log:   log,
		m:     leadership.New(cfg.machine()),
		rt:    rt,
		files: p.files,
		procs: p.procs,
		out:   p.out,
		api: &leaseAPI{
			leases:    api.Leases,
			watches:   api.Watches,
			namespace: cfg.Namespace,
			name:      cfg.LeaseName,
			timeout:   RequestTimeout(cfg.RenewDeadline),
			bound:     rt.withTimeout,
		},
	}
	d.content = func(uint64) []byte { return []byte(cfg.Identity) }
	d.fileGate, d.childGate = newTermGate(rt.mono), newTermGate(rt.mono)
	d.podOps.rt = rt
	d.leaderFile.rt = rt
	d.leaderFile.write = d.writeLeaderFile
	if cfg.LeaderLabel != "" {
		key, value, _ := cfg.LabelKV()
		d.label = &podLabel{
			pods:      api.Pods,
			namespace: cfg.Namespace,
			pod:       cfg.PodName,
			key:       key,
			value:     value,
			timeout:   RequestTimeout(cfg.RenewDeadline),
			bound:     rt.withTimeout,
			log:       log,
		}
		d.labelGate = newTermGate(rt.mono)
	}
	return d
}

func (d *driver) now() leadership.Now {
	return leadership.Now{Mono: d.rt.mono(), Wall: d.rt.wall()}
}

// step steps the machine with one input (what a task or the watch
// reported, the timer, a shutdown) and carries out the effects.
func (d *driver) step(in leadership.Input) {
	d.busy.Store(time.Now().UnixNano())
	defer d.busy.Store(0)
	for _, e := range d.m.Step(d.now(), in) {
		if d.trace != nil {
			d.trace(e)
		}
		d.do(e)
	}
}

func (d *driver) result() error {
	if d.exit.Code == 0 {
		return nil
	}
	return exitcode.WithCode(d.exit.Code, errors.New(d.exit.Reason))
}

// do carries out one effect. Anything that may block runs on a task.
func (d *driver) do(e leadership.Effect) {
	switch e := e.(type) {
	case leadership.Write:
		d.rt.spawn(func() { d.rt.report(d.writeLease(e)) })
	case leadership.Read:
		d.rt.spawn(func() { d.rt.report(d.readLease(e.Seq)) })
	case leadership.RequestHandover:
		req := HandoverRequest{ID: e.Request.ID, To: e.Request.To, By: d.cfg.Identity, At: d.rt.wall().UTC()}
		d.rt.spawn(func() { d.writeHandover(e.Base, e.BaseRV, &req, "") })
	case leadership.WithdrawHandover:
		d.rt.spawn(func() { d.writeHandover(e.Base, e.BaseRV, nil, e.ID) })
	case leadership.ShowFile:
		d.fileGate.begin(e.Term, e.Until)
		d.rt.spawn(func() { d.rt.report(d.showFile(e.Term, e.Token)) })
	case leadership.ExtendTerm:
		d.fileGate.extend(e.Term, e.Until)
		d.childGate.extend(e.Term, e.Until)
		if d.label != nil {
			d.labelGate.extend(e.Term, e.Until)
		}
	case leadership.LabelPod:
		d.labelGate.begin(e.Term, e.Until)
		d.labelBegun.Store(e.Term)
		d.podOps.do(func() { d.rt.report(d.labelPod(e.Term)) })
	case leadership.UnlabelPod:
		// HideFile's task, started just before, never waits for this one.
		d.labelGate.close(e.Term)
		d.podOps.do(func() { d.unlabelPod(e.Term) })
	case leadership.HideFile:
		d.fileGate.close(e.Term)
		d.rt.spawn(func() { d.rt.report(d.hideFile(e.Term)) })
	case leadership.StartChild:
		d.childGate.begin(e.Term, e.Until)
		slot := &childSlot{}
		d.children.Store(e.Term, slot)
		d.rt.spawn(func() { d.rt.report(d.startChild(e.Term, e.Token, slot)) })
	case leadership.StopChild:
		d.childGate.close(e.Term)
		d.rt.spawn(func() { d.rt.report(d.stopChild(e.Term)) })
	case leadership.Publish:
		d.out.publish(e)
	case leadership.LeaderFile:
		if d.cfg.LeaderFile != "" {
			d.leaderFile.set(e.Holder)
		}
	case leadership.SetTimer:
		d.rt.setTimer(e.At)
	case leadership.Event:
		d.out.event(e.Warning, e.Reason, e.Message)
	case leadership.Metric:
		d.out.count(e.Name, d.rt.wall())
	case leadership.Log:
		d.log.Log(context.Background(), e.Level, e.Msg, e.Args...)
	case leadership.Exit:
		d.exit = e
		d.log.Info("exiting", "code", e.Code, "reason", e.Reason)
	}
}

// writeLease sends one write and reports its outcome, with the stored
// object that later updates are based on.
func (d *driver) writeLease(w leadership.Write) leadership.Input {
	obj, err := d.api.write(context.Background(), w)
	d.out.reachable(err)
	res := leadership.WriteResult{Seq: w.Seq, Outcome: classify(err)}
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Lease = toLease(obj)
	return res
}

// writeHandover asks for or withdraws a hand-over. A request's outcome
// goes back to the machine, which asks again when it did not land; a
// withdrawal that fails is only logged (the write that takes the Lease
// removes the request anyway).
func (d *driver) writeHandover(base any, baseRV string, req *HandoverRequest, withdraw string) {
	err := d.api.handover(context.Background(), base, baseRV, req, withdraw)
	d.out.reachable(err)
	if req != nil {
		res := leadership.HandoverAsked{ID: req.ID, OK: err == nil}
		if err != nil {
			res.Err = err.Error()
		}
		d.rt.report(res)
		return
	}
	if err != nil {
		d.log.Warn("could not withdraw the hand-over request", "err", err)
	}
}

// readLease gets the Lease; a missing one is an answer, not an error.
func (d *driver) readLease(seq uint64) leadership.Input {
	obj, err := d.api.read(context.Background())
	d.out.reachable(err)
	res := leadership.ReadResult{Seq: seq}
	switch {
	case err == nil:
		res.Lease = toLease(obj)
	case classify(err) != leadership.NotFound:
		res.Err = err.Error()
	}
	return res
}

// hideFile waits for a rename of term under way (the loop has closed its
// gate, so none can start), then removes the file, and the token file
// after it: the token file never says less than the status file.
func (d *driver) hideFile(term uint64) leadership.Input {
	d.fileGate.end(term)
	if err := d.files.remove(d.cfg.StatusFile); err != nil {
		return leadership.FileHidden{Term: term, Err: err.Error()}
	}
	if d.cfg.TokenFile != "" {
		if err := d.files.remove(d.cfg.TokenFile); err != nil {
			return leadership.FileHidden{Term: term, Err: err.Error()}
		}
	}
	d.log.Info("not leading: status file removed", "file", d.cfg.StatusFile, "term", term)
	return leadership.FileHidden{Term: term}
}

// showFile writes the status file and makes it visible if the term is
// still open: the slow part (write, fsync) before the gate, the rename
// inside it. With a token file, the term's token is written the same way
// and renamed into place first, in the same gate, so whoever sees the
// status file finds the token beside it.
func (d *driver) showFile(term, token uint64) leadership.Input {
	var staged []stagedFile // in the order they become visible
	discard := func() {
		for _, f := range staged {
			f.discard()
		}
	}
	if d.cfg.TokenFile != "" {
		tmp, err := d.files.stage(d.cfg.TokenFile, tokenLine(token))
		if err != nil {
			return leadership.FileShown{Term: term, Err: err.Error()}
		}
		staged = append(staged, tmp)
	}
	tmp, err := d.files.stage(d.cfg.StatusFile, d.content(token))
	if err != nil {
		discard()
		return leadership.FileShown{Term: term, Err: err.Error()}
	}
	staged = append(staged, tmp)
	// A token file renamed into place before a failed status rename stays
	// until the term's HideFile, which the failure brings.
	reveal := func() error {
		for _, f := range staged {
			if err := f.commit(); err != nil {
				return err
			}
		}
		return nil
	}
	shown, err := d.fileGate.show(term, reveal)
	if !shown || err != nil {
		discard()
	}
	switch {
	case err != nil:
		return leadership.FileShown{Term: term, Err: err.Error()}
	case !shown:
		return leadership.FileShown{Term: term, Aborted: true}
	}
	for _, f := range staged {
		f.syncDir()
	}
	return leadership.FileShown{Term: term, OK: true}
}

// labelPod puts the leader label on our Pod for term, after taking it off
// every other Pod, unless the term ends or its deadline passes first.
func (d *driver) labelPod(term uint64) leadership.Input {
	err := d.label.label(context.Background(), func() (time.Duration, bool) { return d.labelGate.remaining(term) })
	switch {
	case errors.Is(err, errTermClosed):
		return leadership.PodLabeled{Term: term, Aborted: true}
	case err != nil:
		return leadership.PodLabeled{Term: term, Err: err.Error()}
	}
	return leadership.PodLabeled{Term: term, OK: true}
}

// unlabelPod takes the leader label off our Pod after term ended, unless a
// later term has asked for the label (which then owns it); the machine hears
// of the attempt and asks again after a failure.
func (d *driver) unlabelPod(term uint64) {
	var err error
	if d.labelBegun.Load() <= term {
		err = d.label.unlabel(context.Background())
	}
	res := leadership.PodUnlabeled{Term: term}
	if err != nil {
		res.Err = err.Error()
	}
	d.rt.report(res)
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

// writeLeaderFile puts holder in the leader file ("" removes it). It is a
// convenience, never a promise: it runs on a task of its own and never
// holds up the loop.
func (d *driver) writeLeaderFile(holder string) {
	var err error
	if holder == "" {
		err = d.files.remove(d.cfg.LeaderFile)
	} else {
		var tmp stagedFile
		if tmp, err = d.files.stage(d.cfg.LeaderFile, []byte(holder)); err == nil {
			if err = tmp.commit(); err != nil {
				tmp.discard()
			} else {
				tmp.syncDir()
			}
		}
	}
	if err != nil {
		d.log.Error("could not update the leader file", "file", d.cfg.LeaderFile, "err", err)
	}
}

// latest writes the newest of a stream of values on one task at a time: a
// value not yet written when a newer one comes is dropped.
type latest struct {
	rt    host
	write func(string)

	mu      sync.Mutex
	next    string
	pending bool
	running bool
}

func (l *latest) set(v string) {
	l.mu.Lock()
	l.next, l.pending = v, true
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		l.rt.spawn(l.drain)
	}
}

func (l *latest) drain() {
	for {
		l.mu.Lock()
		if !l.pending {
			l.running = false
			l.mu.Unlock()
			return
		}
		v := l.next
		l.pending = false
		l.mu.Unlock()
		l.write(v)
	}
}

// childSlot is one term's child (p nil until it started, and for ever if
// it did not). p is set inside the child gate, so once the gate has ended
// the term it is final.
type childSlot struct{ p process }

// startChild starts term's command with the term's fencing token in its
// environment (TokenEnv), unless the term ended or its deadline passed.
func (d *driver) startChild(term, token uint64, slot *childSlot) leadership.Input {
	env := []string{tokenEnv(token)}
	shown, err := d.childGate.show(term, func() (err error) {
		slot.p, err = d.procs.start(d.cfg.Command, env, d.log.With("child", d.cfg.Command[0]))
		return err
	})
	switch {
	case err != nil:
		return leadership.ChildStarted{Term: term, Err: err.Error()}
	case !shown:
		return leadership.ChildStarted{Term: term, Aborted: true}
	}
	p := slot.p
	d.rt.spawn(func() {
		if code, exited := p.wait(); exited {
			d.rt.report(leadership.ChildExited{Term: term, Code: code})
		}
	})
	return leadership.ChildStarted{Term: term}
}

// TokenEnv names the variable that holds the term's fencing token in the
// environment of exec mode's command: decimal, 0 when the term has none.
const TokenEnv = "LEADER_ELECTOR_TOKEN"

func tokenEnv(token uint64) string {
	return TokenEnv + "=" + strconv.FormatUint(token, 10)
}

// stopChild stops term's child and every process it started: SIGTERM, then
// SIGKILL after the grace. Ending the gate first waits for a start under
// way and keeps a later one from happening, so what the slot holds then is
// all there is to stop.
func (d *driver) stopChild(term uint64) leadership.Input {
	d.childGate.end(term)
	v, ok := d.children.LoadAndDelete(term)
	if !ok {
		return leadership.ChildStopped{Term: term, Gone: true}
	}
	slot := v.(*childSlot)
	if slot.p == nil {
		return leadership.ChildStopped{Term: term, Gone: true}
	}
	if err := slot.p.stop(d.cfg.Grace); err != nil {
		d.log.Error("stopping the command", "err", err)
		return leadership.ChildStopped{Term: term, Gone: false}
	}
	return leadership.ChildStopped{Term: term, Gone: true}
}
