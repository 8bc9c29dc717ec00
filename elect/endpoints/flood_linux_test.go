package endpoints

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const floodHelperEnv = "ENDPOINTS_FLOOD_HELPER"

// TestMain doubles as the server under flood: a separate process, so its
// memory is measured without the test's own thousands of sockets.
func TestMain(m *testing.M) {
	if os.Getenv(floodHelperEnv) != "" {
		os.Exit(floodServer())
	}
	os.Exit(m.Run())
}

// floodServer serves a Server with the default caps on 127.0.0.1, prints
// its address, then answers each "mem" line on stdin with its memory.
func floodServer() int {
	s := New(Options{Identity: "me"})
	s.SetReady(true)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println("FAIL", err)
		return 1
	}
	go s.ServeListener(context.Background(), ln)
	fmt.Println(ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Println(ms.HeapInuse+ms.StackInuse, vmRSS())
	}
	return 0
}

// vmRSS is this process's resident set in bytes, from /proc/self/status.
func vmRSS() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		var kb uint64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}

type floodServerProc struct {
	addr string
	in   io.Writer
	out  *bufio.Reader
}

// mem returns the server's HeapInuse+StackInuse after a GC, and its RSS.
func (f *floodServerProc) mem(t *testing.T) (heapStack, rss uint64) {
	t.Helper()
	fmt.Fprintln(f.in, "mem")
	line, err := f.out.ReadString('\n')
	if _, err2 := fmt.Sscan(line, &heapStack, &rss); err != nil || err2 != nil {
		t.Fatalf("reading the server's memory: %v %v %q", err, err2, line)
	}
	return heapStack, rss
}

func startFloodServer(t *testing.T) *floodServerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), floodHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewReader(stdout)
	addr, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("server printed no address: %v", err)
	}
	return &floodServerProc{addr: strings.TrimSpace(addr), in: in, out: out}
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit: the test holds
// several thousand sockets.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur < need {
		t.Fatalf("RLIMIT_NOFILE hard limit %d, the test needs %d", rl.Cur, need)
	}
}

// openStreamRaw asks for an event stream on a connection of its own and
// returns the status code (0 if the server closed it unanswered, as the
// overflow does to the connections it evicts) and the connection, left
// open.
func openStreamRaw(t *testing.T, addr string) (int, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	fmt.Fprintf(c, "GET /leader HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // generous: the machine is shared
	var proto string
	var code int
	if _, err := fmt.Fscan(bufio.NewReaderSize(c, 64), &proto, &code); err != nil {
		return 0, c
	}
	return code, c
}

// The flood (3,000 idle connections and 3,000 event streams grew
// the sidecar by 108 MB) against the default caps, on a real socket.
func TestFloodIsCappedAndProbesStillAnswer(t *testing.T) {
	const idle, streams, extraStreams = 3000, 3000, 50
	raiseFileLimit(t, idle+streams+extraStreams+1000)
	srv := startFloodServer(t)
	url := "http://" + srv.addr
	// Warm up: a request and a stream of each kind, so the baseline holds
	// what any server holds after its first clients.
	get(t, url+"/leader")
	if _, c := openStreamRaw(t, srv.addr); c != nil {
		c.Close()
	}
	heap0, rss0 := srv.mem(t)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Streams first, while the connection cap has room: exactly
	// DefaultMaxStreams are served, the rest get 503 from the stream cap.
	codes := map[int]int{}
	for range DefaultMaxStreams + extraStreams {
		code, c := openStreamRaw(t, srv.addr)
		codes[code]++
		conns = append(conns, c)
	}
	if codes[200] != DefaultMaxStreams || codes[503] != extraStreams {
		t.Fatalf("%d streams asked for with a cap of %d: statuses %v, want %d×200 and %d×503",
			DefaultMaxStreams+extraStreams, DefaultMaxStreams, codes, DefaultMaxStreams, extraStreams)
	}
	// Then the idle flood, which fills the connection cap and the overflow.
	for range idle {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		conns = append(conns, c)
	}
	// During the flood: probes answer, other requests are turned away.
	for i := range 20 {
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := get(t, url+path); code != 200 {
				t.Fatalf("probe %d: GET %s during the flood: %d %q, want 200", i, path, code, body)
			}
		}
	}
	if code, body := get(t, url+"/leader"); code != 503 {
		t.Errorf("GET /leader with the connection cap full: %d %q, want 503", code, body)
	}
	// More streams while the flood holds: none gets a 200.
	codes = map[int]int{}
	for range streams {
		code, c := openStreamRaw(t, srv.addr)
		codes[code]++
		conns = append(conns, c)
	}
	if codes[200] != 0 || codes[0]+codes[503] != streams {
		t.Errorf("%d more streams with the cap full: statuses %v (0 = closed unanswered), want only 503 or closed", streams, codes)
	}
	heap1, rss1 := srv.mem(t)
	t.Logf("server memory: heap+stack %.1f -> %.1f MB, RSS %.1f -> %.1f MB, with %d connections open against it",
		mb(heap0), mb(heap1), mb(rss0), mb(rss1), len(conns))
	// The bound: 200 served connections and 256 overflow ones at roughly
	// 20 KB each is under 10 MB; 24 MB leaves room for GC slack. The old
	// code grew by over 100 MB under the same flood.
	const bound = 24 << 20
	if heap1 > heap0+bound {
		t.Errorf("heap+stack grew by %.1f MB under the flood, bound %.0f MB", mb(heap1-heap0), mb(bound))
	}
	switch {
	case raceEnabled:
		// The race detector's shadow memory multiplies RSS; heap+stack,
		// checked above, is what the caps bound.
		t.Logf("RSS not bounded under the race detector")
	case rss1 > rss0+bound:
		t.Errorf("RSS grew by %.1f MB under the flood, bound %.0f MB", mb(rss1-rss0), mb(bound))
	}
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
