package replica

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
)

// The tests run this test binary again as a stand-in elector: with
// helperEnv set, TestMain plays the role its first argument names.
const helperEnv = "REPLICA_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		fakeElector(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

// fakeElector keeps elect's promise about the status file without an API
// server:
//
//	lead STATUS ID   remove a stale STATUS, as elect does at start, then
//	                 write ID to it (it leads); remove it and exit 0 on
//	                 SIGTERM, as elect's release does
//	fail             print "bad flag" on stderr and exit 2
func fakeElector(args []string) {
	switch args[0] {
	case "lead":
		os.Remove(args[1])
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("leading")
		if err := os.WriteFile(args[1], []byte(args[2]), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		<-c
		os.Remove(args[1])
		fmt.Println("released")
	case "fail":
		fmt.Fprintln(os.Stderr, "bad flag")
		os.Exit(2)
	}
}

// newFake returns a replica running fakeElector's role, logging to a file;
// it is killed when the test ends.
func newFake(t *testing.T, id, role string, failed chan<- error) *Replica {
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	r := New(Spec{
		ID: id, StatusFile: status,
		Command: proc.Options{
			Path: os.Args[0], Args: []string{role, status, id},
			Env: []string{helperEnv + "=1"}, LogPath: filepath.Join(dir, "log"),
		},
		OnUnexpectedExit: func(err error) { failed <- err },
	})
	t.Cleanup(func() { r.Stop(syscall.SIGKILL, 0) })
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartLeadStop(t *testing.T) {
	failed := make(chan error, 1)
	r := newFake(t, "replica-1", "lead", failed)
	if r.Running() || r.Leads() {
		t.Fatalf("not started yet, but Running %v, Leads %v", r.Running(), r.Leads())
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the status file", r.Leads)
	if got, err := r.Status(); err != nil || got != "replica-1" {
		t.Errorf("Status() = %q, %v; want its identity", got, err)
	}
	if err := r.Start(); err == nil {
		t.Errorf("a second Start while it runs succeeded")
	}
	r.Stop(syscall.SIGTERM, 10*time.Second)
	if r.Running() || r.HasStatusFile() {
		t.Errorf("after Stop: Running %v, HasStatusFile %v; want neither", r.Running(), r.HasStatusFile())
	}
	if _, err := r.Status(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Status() of a follower: %v, want fs.ErrNotExist", err)
	}
	if code, sig := r.Process().ExitCode(); code != 0 || sig != 0 {
		t.Errorf("exit %d (signal %v), want 0 after SIGTERM", code, sig)
	}
	select {
	case err := <-failed:
		t.Errorf("a stopped replica was reported as failed: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
}

// A restart (after a crash) keeps the identity, status file and log, as a
// restarted container does; the crashed leader's file outlives it, so
// Leads asks whether the process runs too.
func TestCrashAndRestart(t *testing.T) {
	failed := make(chan error, 2)
	r := newFake(t, "replica-2", "lead", failed)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the status file", r.Leads)
	r.Stop(syscall.SIGKILL, 0)
	if !r.HasStatusFile() || r.Leads() {
		t.Errorf("after SIGKILL: HasStatusFile %v, Leads %v; want the stale file, not leading", r.HasStatusFile(), r.Leads())
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	log := func() string { b, _ := os.ReadFile(r.spec.Command.LogPath); return string(b) }
	// Both incarnations in one log: the second's "leading" follows the first's.
	waitUntil(t, "the restarted replica to lead", func() bool { return strings.Count(log(), "leading\n") == 2 && r.Leads() })
	r.Stop(syscall.SIGTERM, 10*time.Second)
	if r.HasStatusFile() {
		t.Errorf("the restarted replica left its status file after SIGTERM")
	}
	if len(failed) > 0 {
		t.Errorf("a stopped replica was reported as failed: %v", <-failed)
	}
}

func TestUnexpectedExit(t *testing.T) {
	failed := make(chan error, 1)
	r := newFake(t, "replica-3", "fail", failed)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("a replica that exited on its own was not reported")
	}
	want := "replica-3 exited on its own (exit status 2); last lines of its log:\n  bad flag"
	if err.Error() != want {
		t.Errorf("reported:\n%s\nwant:\n%s", err, want)
	}
	var ue *UnexpectedExit
	if !errors.As(err, &ue) || ue.ID != "replica-3" {
		t.Errorf("error %T does not name the replica as an *UnexpectedExit", err)
	}
}

func TestElectArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Elect
		want []string
	}{
		{"endpoints off, defaults", Elect{Lease: "l", Identity: "a", StatusFile: "/s"},
			[]string{"elect", "--lease-name=l", "--identity=a", "--status-file=/s", "--http-addr="}},
		{"everything, exec mode last", Elect{
			Kubeconfig: "/kc", Namespace: "ns", Lease: "l", Identity: "a", StatusFile: "/s", LeaderFile: "/lf",
			HTTPAddr: "127.0.0.1:8080", LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second,
			RetryPeriod: 500 * time.Millisecond, Extra: []string{"--", "sleep", "1"},
		}, []string{"elect", "--kubeconfig=/kc", "--namespace=ns", "--lease-name=l", "--identity=a",
			"--status-file=/s", "--leader-file=/lf", "--http-addr=127.0.0.1:8080",
			"--lease-duration=3s", "--renew-deadline=2s", "--retry-period=500ms", "--", "sleep", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Args(); !slices.Equal(got, tc.want) {
				t.Errorf("Args() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestElectBaselineArgs(t *testing.T) {
	e := Elect{Kubeconfig: "/kc", Namespace: "ns", Lease: "l", Identity: "a", StatusFile: "/s",
		LeaderFile: "/lf", HTTPAddr: ":8080", LeaseDuration: 15 * time.Second, Extra: []string{"-release-on-cancel=false"}}
	want := []string{"-kubeconfig=/kc", "-namespace=ns", "-lease-name=l", "-identity=a", "-status-file=/s",
		"-lease-duration=15s", "-release-on-cancel=false"}
	if got := e.BaselineArgs(); !slices.Equal(got, want) {
		t.Errorf("BaselineArgs() =\n%q\nwant\n%q", got, want)
	}
}

func TestFreeAddr(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("the free address %s cannot be listened on: %v", addr, err)
	}
	l.Close()
}

func TestBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hello")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Build(ctx, BuildOptions{Package: "./internal/replica/testdata/hello", Out: out, Stripped: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(out).Output(); err != nil || string(b) != "hello\n" {
		t.Errorf("the built binary printed %q, %v; want hello", b, err)
	}
	err := Build(ctx, BuildOptions{Package: "./internal/replica/testdata/missing", Out: out})
	if err == nil || !strings.Contains(err.Error(), "building ./internal/replica/testdata/missing") {
		t.Errorf("building a missing package: %v; want an error naming it", err)
	}
}

// A release build is what goreleaser makes: static, trimmed, stripped.
func TestBuildRelease(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hello")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Build(ctx, BuildOptions{Package: "./internal/replica/testdata/hello", Out: out, Release: true}); err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if got[k] != want {
			t.Errorf("build setting %s = %q, want %q", k, got[k], want)
		}
	}
	// -trimpath leaves -ldflags out of the build info: look for the
	// symbol table -s strips instead.
	if f, err := elf.Open(out); err == nil {
		defer f.Close()
		if f.Section(".symtab") != nil {
			t.Error("the release binary has a symbol table: not stripped")
		}
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "replica", "replica.go")); err != nil {
		t.Errorf("ModuleRoot() = %s, which does not hold this package: %v", root, err)
	}
	t.Chdir(t.TempDir())
	if root, err := ModuleRoot(); err == nil {
		t.Errorf("ModuleRoot() outside the module = %s, want an error", root)
	}
}

// A harness's two electors write the same replica's command line each in
// its own dialect.
func TestElectors(t *testing.T) {
	spec := Elect{Lease: "lock", Identity: "a"}
	for _, tt := range []struct {
		e    Elector
		want string
	}{
		{Ours("ours", "/bin/leader-elector"), "elect --lease-name=lock --identity=a --http-addr="},
		{Baseline("client-go", "/bin/baseline"), "-lease-name=lock -identity=a"},
	} {
		if got := strings.Join(tt.e.Args(spec), " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.e.Name, got, tt.want)
		}
	}
}
