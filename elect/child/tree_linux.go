package child

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/leader-elector/leader-elector/internal/procstat"
	"golang.org/x/sys/unix"
)

// family is what a Process knows of its descendants: the child's own start
// time and every descendant ever seen, each as pid + start time, so a
// descendant stays known after it leaves the group or the parent chain, and
// a reused pid (a later start time) is never taken for it.
type family struct {
	mu    sync.Mutex
	start uint64         // the child's start time; 0 if it was gone before read
	known map[int]uint64 // pid -> start time
}

// member is one live process of the child's tree.
type member struct {
	pid   int
	start uint64
}

// String prints the pid, as error messages name processes.
func (m member) String() string { return strconv.Itoa(m.pid) }

func (p *Process) noteStarted() {
	p.fam.known = make(map[int]uint64)
	if st, err := procstat.Read(p.pid); err == nil {
		p.fam.start = st.Start
	}
}

// remaining lists the live processes of the child's tree: the child, its
// process group, and everything descended from them, including processes
// that called setsid and orphans whose parent already exited. One scan of
// /proc finds, in this order:
//   - the child (its pid with its start time) and its group (until the group
//     was seen empty: see groupGone);
//   - every descendant seen by an earlier scan (pid with start time);
//   - orphans reparented to this process (a subreaper, see BecomeSubreaper)
//     or to PID 1 that carry the child's environment marker (MarkerEnv);
//   - orphans reparented to us that are in another session: a setsid'd
//     descendant whose parent exited (the sidecar's own os/exec children
//     stay in its session, so they are never taken for the child's). Only
//     processes reparented to us count: under PID 1 of a shared host they
//     could be anyone's;
//   - then, repeatedly, every process whose parent is already in the tree.
//
// Zombies are dead and not listed. A descendant that both cleared its
// environment and became an orphan of PID 1 before any scan saw it is not
// found: with BecomeSubreaper it is reparented to us and found by session.
func (p *Process) remaining() []member {
	if p.exited() {
		p.groupRemains() // marks an empty group gone before it is trusted below
	}
	self := os.Getpid()
	me, _ := procstat.Read(self)
	procs := make(map[int]procstat.Stat)
	procstat.Each(func(pid int, st procstat.Stat) bool {
		if !st.Dead() && pid != self {
			procs[pid] = st
		}
		return true
	})
	p.fam.mu.Lock()
	defer p.fam.mu.Unlock()
	in := make(map[int]bool)
	group := !p.groupGone.Load()
	for pid, st := range procs {
		if known, ok := p.fam.known[pid]; ok && known == st.Start {
			in[pid] = true
			continue
		}
		orphan := st.PPid == self || st.PPid == 1
		late := st.Start >= p.fam.start
		switch {
		case pid == p.pid && st.Start == p.fam.start:
		case group && st.Pgrp == p.pid:
		case st.PPid == self && late && st.Session != me.Session && !isOurs(pid):
		case orphan && late && environHas(pid, p.marker):
		default:
			continue
		}
		in[pid] = true
	}
	for grew := true; grew; { // a child starts after its parent: the start check skips a reused parent pid
		grew = false
		for pid, st := range procs {
			if parent := procs[st.PPid]; !in[pid] && in[st.PPid] && st.Start >= parent.Start {
				in[pid], grew = true, true
			}
		}
	}
	left := make([]member, 0, len(in))
	for pid := range in {
		p.fam.known[pid] = procs[pid].Start
		left = append(left, member{pid, procs[pid].Start})
	}
	return left
}

// isOurs reports whether pid is a child started by Start (of any Process).
func isOurs(pid int) bool {
	ours.mu.Lock()
	defer ours.mu.Unlock()
	_, ok := ours.procs[pid]
	return ok
}

// signalTree signals the group (which also reaches a member forked since
// the scan) and every listed member.
func (p *Process) signalTree(left []member, sig syscall.Signal) {
	p.signalGroup(sig)
	for _, m := range left {
		if err := signalMember(m, sig); err != nil {
			p.log.Warn("signalling child's descendant", "descendant", m.pid, "signal", sig.String(), "err", err)
		}
	}
}

// signalMember signals m only if pid still names the process with m's start
// time. A pidfd pins the process, so once its start time is checked the
// signal cannot reach a stranger that reused the pid; kernels without pidfds
// (before 5.3) get a re-check and kill(2), leaving a window of microseconds.
func signalMember(m member, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(m.pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		if st, err := procstat.Read(m.pid); err != nil || st.Start != m.start {
			return nil
		}
		return ignoreESRCH(syscall.Kill(m.pid, sig))
	}
	defer unix.Close(fd)
	if st, err := procstat.Read(m.pid); err != nil || st.Start != m.start {
		return nil // exited, or the pid now names another process
	}
	return ignoreESRCH(unix.PidfdSendSignal(fd, sig, nil, 0))
}

func ignoreESRCH(err error) error {
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
