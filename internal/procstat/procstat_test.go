//go:build linux

package procstat

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The figures of this very process move the way a user would check: CPU
// time grows while it spins, and RSS grows by about what it touches.
func TestOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pid := os.Getpid()
	cpu0, err := CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel's own account (getrusage) shows 0.3 CPU
	// seconds more, however loaded the machine: /proc must agree with it.
	used := func() float64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	for start := used(); used()-start < 0.3; {
	}
	cpu1, err := CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := cpu1 - cpu0; d < 0.25 || d > 5 {
		t.Errorf("spinning 0.3 CPU seconds (by getrusage) read as %.2f from /proc", d)
	}
	rss0, err := RSSMiB(pid)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	rss1, err := RSSMiB(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := rss1 - rss0; d < 48 || d > 200 {
		t.Errorf("touching 64 MiB grew RSS by %.1f MiB (from %.1f)", d, rss0)
	}
	peak, err := PeakRSSMiB(pid)
	if err != nil || peak < rss1 {
		t.Errorf("peak RSS %.1f MiB (err %v) is below the current %.1f", peak, err, rss1)
	}
	anon, err := AnonMiB(pid)
	if err != nil || anon < 48 || anon > rss1 {
		t.Errorf("anonymous RSS %.1f MiB (err %v) after touching 64 MiB of heap, of %.1f in all", anon, err, rss1)
	}
	runtime.KeepAlive(buf)
	if _, err := RSSMiB(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// This process started before now, and recently.
func TestStartTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(start); age < 0 || age > 10*time.Minute {
		t.Errorf("StartTime says this test process started %s ago", age)
	}
}

func TestParse(t *testing.T) {
	// The fields after the name: state ppid pgrp session tty_nr tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
	// num_threads itrealvalue starttime, then more that Stat does not read.
	const rest = " S 10 20 30 0 -1 4194304 101 0 0 0 7 8 0 0 20 0 1 0 12345 3133440 390"
	want := Stat{State: 'S', PPid: 10, Pgrp: 20, Session: 30, UTime: 7, STime: 8, Start: 12345}
	for _, tc := range []struct {
		name string
		stat string
		want Stat
		err  bool
	}{
		{name: "plain name", stat: "42 (sleep)" + rest, want: want},
		{name: "name with spaces and parentheses", stat: "42 (a) b (c))" + rest, want: want},
		{name: "zombie", stat: "42 (sh) Z 1 20 30 0 -1 4194304 101 0 0 0 7 8 0 0 20 0 1 0 12345 0 0", want: Stat{State: 'Z', PPid: 1, Pgrp: 20, Session: 30, UTime: 7, STime: 8, Start: 12345}},
		{name: "no closing parenthesis", stat: "42 (sleep S 10 20 30", err: true},
		{name: "too few fields", stat: "42 (sleep) S 10 20 30", err: true},
		{name: "state not one letter", stat: "42 (sleep) SS 10 20 30 0 -1 4194304 101 0 0 0 7 8 0 0 20 0 1 0 12345 3133440 390", err: true},
		{name: "pgrp not a number", stat: "42 (sleep) S 10 x 30 0 -1 4194304 101 0 0 0 7 8 0 0 20 0 1 0 12345 3133440 390", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(42, []byte(tc.stat))
			if tc.err {
				if err == nil {
					t.Errorf("parse(%q) = %+v, want an error", tc.stat, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parse(%q) = %+v, %v; want %+v", tc.stat, got, err, tc.want)
			}
		})
	}
}

// Read, Alive and Each on processes whose state the test knows: itself, a
// child that runs, the same child as a zombie, and a pid nobody holds.
func TestReadAliveEach(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	self, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.PPid != os.Getppid() || self.Pgrp != syscall.Getpgrp() || self.Dead() || self.Start == 0 {
		t.Errorf("Read(self) = %+v; want ppid %d, pgrp %d, alive, a start time", self, os.Getppid(), syscall.Getpgrp())
	}
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Wait()
	defer cmd.Process.Kill()
	for _, tc := range []struct {
		name  string
		pid   int
		do    func()
		alive bool
		found bool // by Each, with this process as its parent
	}{
		{name: "running child", pid: pid, alive: true, found: true},
		{name: "zombie child", pid: pid, do: func() { cmd.Process.Signal(syscall.SIGKILL); waitState(t, pid, 'Z') }, found: true},
		{name: "no such process", pid: 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.do != nil {
				tc.do()
			}
			if got := Alive(tc.pid); got != tc.alive {
				t.Errorf("Alive(%d) = %v, want %v", tc.pid, got, tc.alive)
			}
			found := false
			Each(func(p int, st Stat) bool {
				found = p == tc.pid && st.PPid == os.Getpid() && st.Start >= self.Start
				return !found
			})
			if found != tc.found {
				t.Errorf("Each found %d as our child: %v, want %v", tc.pid, found, tc.found)
			}
		})
	}
}

// waitState waits until pid's state is state.
func waitState(t *testing.T, pid int, state byte) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, err := Read(pid); err == nil && st.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not in state %c within 10s", pid, state)
		}
	}
}
