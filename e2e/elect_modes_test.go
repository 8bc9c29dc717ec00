package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// childScript runs while leading: it writes its mark atomically, and on
// SIGTERM takes 300ms to shut down before removing it, so a release sent
// before the child is gone would let the next child start while this one
// still runs.
const childScript = `printf %s "$1" > "$2.tmp" && mv "$2.tmp" "$2"
trap 'sleep 0.3; rm -f "$2"; exit 0' TERM
while :; do sleep 0.05; done`

// Exec mode: the command runs only on the leader; on SIGTERM it is stopped
// before the Lease is released, so two children never run at once.
func TestElectExecModeStartsAndStopsChild(t *testing.T) {
	s := newElectSetup(t)
	start := func(id string) (*elector, *elector) {
		mark := filepath.Join(t.TempDir(), "child-running")
		e := s.start(id, "--grace=1s", "--", "sh", "-c", childScript, "sh", id, mark)
		return e, &elector{id: id, status: mark}
	}
	a, aChild := start("alpha")
	b, bChild := start("bravo")
	es, children := []*elector{a, b}, []*elector{aChild, bChild}
	statusChk, childChk := startChecker(es), startChecker(children)

	first := waitOneLeader(t, 20*time.Second, es)
	firstChild, otherChild := aChild, bChild
	if first == b {
		firstChild, otherChild = bChild, aChild
	}
	waitFor(t, 5*time.Second, "the leader's child to start", func() bool { return len(leaders([]*elector{firstChild})) == 1 })
	if len(leaders([]*elector{otherChild})) != 0 {
		t.Fatalf("the follower's child runs")
	}

	first.Signal(syscall.SIGTERM)
	if code := first.Wait(10 * time.Second); code != 0 {
		t.Fatalf("the old leader exited %d, want 0; stderr:\n%s", code, first.Stderr())
	}
	if len(leaders([]*elector{firstChild})) != 0 {
		t.Fatalf("the old leader exited while its child still ran")
	}
	second := waitOneLeader(t, 10*time.Second, without(es, first))
	waitFor(t, 5*time.Second, "the new leader's child to start", func() bool { return len(leaders([]*elector{otherChild})) == 1 })
	statusChk.finish(t)
	childChk.finish(t)
	second.Signal(syscall.SIGTERM)
	second.Wait(10 * time.Second)
	if len(leaders(children)) != 0 {
		t.Errorf("a child still runs after every elector exited")
	}
}

// A child that exits while leading: the file goes, the Lease is released
// and the sidecar exits with the child's code.
func TestElectExecModeChildExitCode(t *testing.T) {
	s := newElectSetup(t)
	e := s.start("solo", "--grace=1s", "--", "sh", "-c", "sleep 1; exit 7")
	if code := e.Wait(20 * time.Second); code != 7 {
		t.Fatalf("exit code %d, want the child's 7; stderr:\n%s", code, e.Stderr())
	}
	if _, err := os.Lstat(e.status); err == nil {
		t.Errorf("the status file outlived the sidecar")
	}
	if h := s.holder(); h != "" {
		t.Errorf("the Lease is still held by %q, want released", h)
	}
	if !strings.Contains(e.Stderr(), "exited with code 7") {
		t.Errorf("stderr does not say why it exited:\n%s", e.Stderr())
	}
}

// Missing RBAC is a one-line exit-2 error naming exactly the missing verbs,
// before the Lease is touched; a Role granting elect.RequiredAccess, limited
// by resourceNames where it can be, is enough to lead.
func TestElectRBAC(t *testing.T) {
	admin := cp.Client(t, cp.Admin)
	ctx := context.Background()
	ruleSets := map[string][]rbacv1.PolicyRule{
		"nothing":   nil,
		"no-update": requiredRules("lock", "update"),
		"all":       requiredRules("lock", ""),
	}
	tests := []struct {
		user        string
		wantCode    int
		wantErr     []string // substrings of the one stderr line
		wantMissing []string // substrings that must not appear
	}{
		{"nothing", 2, []string{"RBAC: not allowed to get leases.coordination.k8s.io/lock", "update leases.coordination.k8s.io/lock", "create leases.coordination.k8s.io", "create events", elect.RoleHint}, nil},
		{"no-update", 2, []string{"RBAC: not allowed to update leases.coordination.k8s.io/lock in namespace", elect.RoleHint}, []string{"get leases", "create events"}},
		{"all", 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			ns := cp.Namespace(t)
			if rules := ruleSets[tt.user]; rules != nil {
				bindRole(t, ns, tt.user, rules)
			}
			kc := cp.Kubeconfig(t, cp.UserConfig(tt.user), ns)
			status := filepath.Join(t.TempDir(), "status")
			args := fastArgs(replica.Elect{Kubeconfig: kc, Lease: "lock", Identity: "x", StatusFile: status})
			if tt.wantCode != 0 {
				_, stderr, code := runBinary(t, 20*time.Second, nil, args...)
				if code != tt.wantCode {
					t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
				}
				last := lastLine(stderr)
				for _, w := range tt.wantErr {
					if !strings.Contains(last, w) {
						t.Errorf("error %q does not contain %q", last, w)
					}
				}
				for _, w := range tt.wantMissing {
					if strings.Contains(last, w) {
						t.Errorf("error %q names %q, which was granted", last, w)
					}
				}
				if _, err := admin.CoordinationV1().Leases(ns).Get(ctx, "lock", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("the Lease exists (err %v): preflight must fail before touching it", err)
				}
				return
			}
			p := startBinary(t, nil, args...)
			waitFor(t, 20*time.Second, "the status file with only the required rights", func() bool { _, err := os.Lstat(status); return err == nil })
			p.Signal(syscall.SIGTERM)
			if code := p.Wait(10 * time.Second); code != 0 {
				t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
			}
		})
	}
}

// requiredRules turns elect.RequiredAccess into a Role's rules, limited to
// lease by resourceNames where the rule allows it, leaving out one verb.
func requiredRules(lease, skipVerb string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, r := range elect.RequiredAccess {
		var verbs []string
		for _, v := range r.Verbs {
			if v != skipVerb {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) == 0 {
			continue
		}
		pr := rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: []string{r.Resource}, Verbs: verbs}
		if r.ByName {
			pr.ResourceNames = []string{lease}
		}
		rules = append(rules, pr)
	}
	return rules
}

func bindRole(t *testing.T, ns, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	admin := cp.Client(t, cp.Admin)
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "elect"}, Rules: rules}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the Role: %v", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "elect"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "elect"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the RoleBinding: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// The original's documented pod spec mounts an emptyDir AT the status
// file's path, so the path is a directory: exit 2 before touching the Lease,
// with the right mount in the message, and the directory left alone.
func TestElectStatusPathIsDirectory(t *testing.T) {
	s := newElectSetup(t)
	dir := filepath.Join(t.TempDir(), "leader_status")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := fastArgs(replica.Elect{Kubeconfig: s.kubeconfig, Lease: s.lease, Identity: "x", StatusFile: dir})
	_, stderr, code := runBinary(t, 10*time.Second, nil, args...)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr)
	}
	if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
		t.Errorf("stderr has %d lines, want one: %q", n+1, stderr)
	}
	for _, w := range []string{"is a directory", "mount an emptyDir on a directory", "in both the sidecar and the app container"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.Errorf("the directory was changed: %v", err)
	}
	if h := s.holder(); h != "" {
		t.Errorf("the Lease is held by %q", h)
	}
	if _, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Lease was created (err %v)", err)
	}
}

// Two live processes with one identity (hostNetwork replicas share the
// hostname): at most one status file at any moment, and the collision is
// reported loudly.
func TestElectSameIdentity(t *testing.T) {
	s := newElectSetup(t)
	a := s.start("twin")
	chkA := &elector{id: "twin", status: a.status}
	time.Sleep(300 * time.Millisecond)
	b := s.start("twin")
	es := []*elector{a, b}
	chk := startChecker([]*elector{chkA, {id: "twin", status: b.status}})
	waitOneLeader(t, 20*time.Second, es)
	waitFor(t, 15*time.Second, "a reported identity collision", func() bool {
		return strings.Contains(a.Stderr()+b.Stderr(), "identity collision")
	})
	time.Sleep(2 * time.Second) // several renewals by the leader, seen by the twin
	if n := len(leaders(es)); n != 1 {
		t.Errorf("%d status files, want exactly 1", n)
	}
	chk.finish(t)
	ev, err := cp.Client(t, cp.Admin).CoreV1().Events(s.ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=IdentityCollision"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Items) == 0 {
		t.Errorf("no IdentityCollision Event on the Lease")
	}
}

// An API server that cannot be reached at start is not a configuration
// error: the sidecar keeps retrying, /readyz says not ready, /healthz is
// fine, and SIGTERM still ends it with 0.
func TestElectAPIUnreachableAtStart(t *testing.T) {
	ns := cp.Namespace(t)
	dead := rest.CopyConfig(cp.Admin)
	dead.Host = "https://" + freeAddr(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, dead, ns); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := startBinary(t, nil, fastArgs(replica.Elect{Kubeconfig: kc, Lease: "lock", Identity: "x",
		StatusFile: filepath.Join(t.TempDir(), "status"), HTTPAddr: addr})...)
	waitFor(t, 10*time.Second, "a retry log line", func() bool { return strings.Contains(p.Stderr(), "API server not reachable; retrying") })
	if code, _ := get(t, "http://"+addr+"/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while the API is unreachable, want 503", code)
	}
	if code, _ := get(t, "http://"+addr+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz answered %d, want 200", code)
	}
	if p.exited() {
		t.Fatalf("the sidecar exited (code %d) instead of retrying", p.code())
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// The endpoints answer from the real sidecar: /leader, the contrib "/",
// /readyz and /metrics.
func TestElectEndpoints(t *testing.T) {
	s := newElectSetup(t)
	addr := freeAddr(t)
	e := s.start("solo", "--http-addr", addr)
	waitOneLeader(t, 20*time.Second, []*elector{e})
	base := "http://" + addr
	var info struct {
		Leader   string `json:"leader"`
		Identity string `json:"identity"`
		IsLeader bool   `json:"isLeader"`
	}
	waitFor(t, 5*time.Second, "/leader to report the leader", func() bool {
		_, body := get(t, base+"/leader", "")
		return json.Unmarshal([]byte(body), &info) == nil && info.IsLeader
	})
	if info.Leader != "solo" || info.Identity != "solo" {
		t.Errorf("/leader = %+v, want leader and identity solo", info)
	}
	if _, body := get(t, base+"/", ""); strings.TrimSpace(body) != `{"name":"solo"}` {
		t.Errorf("GET / = %q, want {\"name\":\"solo\"}", body)
	}
	if code, _ := get(t, base+"/readyz", ""); code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", code)
	}
	if _, body := get(t, base+"/metrics", ""); !strings.Contains(body, `leader_election_master_status{name="lock"} 1`) {
		t.Errorf("/metrics lacks the master status gauge at 1:\n%s", body)
	}
	// The push: a stream sees the leader, then its step-down on SIGTERM.
	req, _ := http.NewRequest(http.MethodGet, base+"/leader", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	frames := make(chan string, 16)
	go func() {
		defer close(frames)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				frames <- strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	next := func(what string) string {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("stream ended before %s", what)
			}
			return f
		case <-time.After(10 * time.Second):
			t.Fatalf("no event for %s", what)
		}
		return ""
	}
	if f := next("the current state"); !strings.Contains(f, `"isLeader":true`) {
		t.Errorf("first event %s, want isLeader true", f)
	}
	e.Signal(syscall.SIGTERM)
	for f := next("the step-down"); !strings.Contains(f, `"isLeader":false`); f = next("the step-down") {
	}
	if code := e.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func get(t *testing.T, url, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Sprint(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A SIGKILLed sidecar cannot stop its command, so the command must die with
// it (Pdeathsig on Linux) rather than go on acting without a leader.
func TestElectExecModeChildDiesWithSidecar(t *testing.T) {
	s := newElectSetup(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	e := s.start("solo", "--grace=1s", "--", "sh", "-c", `echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; while :; do sleep 0.05; done`, "sh", pidFile)
	var pid int
	waitFor(t, 20*time.Second, "the command to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &pid)
		return err == nil
	})
	e.Signal(syscall.SIGKILL)
	e.Wait(5 * time.Second)
	waitFor(t, 5*time.Second, "the command to die with the sidecar", func() bool {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	})
}
