package procstat

import (
	"os"
	"runtime"
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
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	cpu1, err := CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := cpu1 - cpu0; d < 0.1 || d > 5 {
		t.Errorf("spinning 0.3s used %.2f CPU seconds", d)
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
