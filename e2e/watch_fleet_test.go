package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/controlplane"
)

// fleetKubeconfig writes a kubeconfig whose contexts (default namespace
// ns) are the given client configurations, and returns its path.
func fleetKubeconfig(t *testing.T, ns string, contexts map[string]*rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for name, cfg := range contexts {
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
		kc.CurrentContext = name
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// jsonLines parses every complete line of out.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// has reports whether a line of out has every field of want (lease fields
// as "lease.name"; strings compared as contained).
func has(t *testing.T, out string, want map[string]string) bool {
	t.Helper()
	for _, l := range jsonLines(t, out) {
		ok := true
		for k, v := range want {
			var got any = l[k]
			if lk, found := strings.CutPrefix(k, "lease."); found {
				lease, _ := l["lease"].(map[string]any)
				got = lease[lk]
			}
			s, _ := got.(string)
			if !strings.Contains(s, v) || got == nil {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func setHolder(t *testing.T, cs kubernetes.Interface, ns, name, holder string) {
	t.Helper()
	ctx := context.Background()
	now := metav1.NewMicroTime(time.Now())
	leases := cs.CoordinationV1().Leases(ns)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](3600), AcquireTime: &now, RenewTime: &now, LeaseTransitions: ptr.To[int32](0)}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating lease %s: %v", name, err)
		}
		return
	}
	l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To(holder), &now, &now
	l.Spec.LeaseTransitions = ptr.To(*l.Spec.LeaseTransitions + 1)
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("updating lease %s: %v", name, err)
	}
}

// TestWatchFleet runs the real binary against two real control planes at
// once (plus a context whose user has no rights and one whose server is
// dead): the multi-context stream, --once, and a recording replayed.
func TestWatchFleet(t *testing.T) {
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cp2, err := controlplane.Start(sctx, controlplane.Options{})
	cancel()
	if err != nil {
		t.Fatalf("starting the second control plane: %v", err)
	}
	t.Cleanup(cp2.Stop)

	ns := cp.Namespace(t)
	cs1, cs2 := cp.Client(t, cp.Admin), cp2.Client(t, cp2.Admin)
	if _, err := cs2.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s in the second cluster: %v", ns, err)
	}
	// The same Lease name in both clusters, held by different replicas.
	setHolder(t, cs1, ns, "alpha", "eu-pod-1")
	setHolder(t, cs2, ns, "alpha", "us-pod-1")
	dead := rest.CopyConfig(cp.Admin)
	dead.Host = "https://127.0.0.1:1"
	kc := fleetKubeconfig(t, ns, map[string]*rest.Config{
		"eu": cp.Admin, "us": cp2.Admin, "nobody": cp.UserConfig("nobody"), "dead": dead,
	})

	t.Run("several contexts as one stream; a forbidden and a dead one do not stop the others", func(t *testing.T) {
		p := startBinary(t, nil, "watch", "-o", "json", "--kubeconfig", kc, "--connect-timeout", "3s",
			"--context", "eu", "--context", "us", "--context", "nobody", "--context", "dead")
		waitFor(t, 30*time.Second, "both clusters' alpha and synced", func() bool {
			out := p.Stdout()
			return has(t, out, map[string]string{"type": "added", "context": "eu", "lease.holder": "eu-pod-1"}) &&
				has(t, out, map[string]string{"type": "added", "context": "us", "lease.holder": "us-pod-1"}) &&
				has(t, out, map[string]string{"type": "synced", "context": "eu"}) &&
				has(t, out, map[string]string{"type": "synced", "context": "us"})
		})
		waitFor(t, 30*time.Second, "nobody's and dead's own errors", func() bool {
			out := p.Stdout()
			return has(t, out, map[string]string{"type": "error", "context": "nobody", "connection": "stopped", "message": "forbidden"}) &&
				// Refused: it stops at once, as kubectl would, not after
				// --connect-timeout; the others go on.
				has(t, out, map[string]string{"type": "error", "context": "dead", "connection": "stopped", "message": "connection refused"})
		})
		// After both failures, the live clusters still stream.
		setHolder(t, cs2, ns, "alpha", "us-pod-2")
		waitFor(t, 30*time.Second, "the transition in us", func() bool {
			return has(t, p.Stdout(), map[string]string{"type": "transition", "context": "us", "from": "us-pod-1", "to": "us-pod-2"})
		})
		if has(t, p.Stdout(), map[string]string{"type": "transition", "context": "eu"}) {
			t.Error("a transition in us was reported for eu")
		}
		for _, l := range jsonLines(t, p.Stdout()) {
			if l["context"] == nil {
				t.Errorf("a line without its context: %v", l)
			}
		}
		p.Signal(syscall.SIGTERM)
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0; stderr %s", code, p.Stderr())
		}
	})

	t.Run("every context failing ends the watch with the first one's exit code", func(t *testing.T) {
		_, stderr, code := runBinary(t, time.Minute, nil, "watch", "-o", "json", "--kubeconfig", kc, "--connect-timeout", "2s",
			"--context", "nobody", "--context", "dead")
		if code != 2 || !strings.Contains(stderr, "context nobody: forbidden") || !strings.Contains(stderr, "context dead: cannot reach the API server") {
			t.Errorf("exit %d stderr %q, want 2 naming both contexts' problems", code, stderr)
		}
	})

	t.Run("--once", func(t *testing.T) {
		setHolder(t, cs1, ns, "bravo", "eu-bravo-\x1b[2J")
		stdout, stderr, code := runBinary(t, time.Minute, nil, "watch", "--once", "--kubeconfig", kc, "--context", "eu", "--context", "us")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		t.Logf("watch --once --context eu --context us:\n%s", stdout)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "CONTEXT NAME HOLDER STATUS RENEWED EXPIRES TRANSITIONS AGE" {
			t.Fatalf("table:\n%s\nwant a header and 3 rows", stdout)
		}
		for i, want := range []string{"eu alpha eu-pod-1 held", `eu bravo eu-bravo-\x1b[2J held`, "us alpha us-pod-2 held"} {
			if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, want) {
				t.Errorf("row %d %q, want it to start with %q", i+1, got, want)
			}
		}

		stdout, _, code = runBinary(t, time.Minute, nil, "watch", "--once", "-o", "wide", "--kubeconfig", kc, "--context", "us")
		if code != 0 || !strings.Contains(stdout, "DURATION") || strings.Contains(stdout, "CONTEXT") || !strings.Contains(stdout, "1h") {
			t.Errorf("exit %d, wide table of one context:\n%s", code, stdout)
		}

		// -o json is kubectl's List of the Leases, as `kubectl get leases -o json`.
		stdout, _, code = runBinary(t, time.Minute, nil, "watch", "--once", "-o", "json", "--kubeconfig", kc, "--context", "eu", "--context", "us")
		var list struct {
			Kind  string
			Items []coordinationv1.Lease
		}
		if err := json.Unmarshal([]byte(stdout), &list); err != nil || code != 0 || list.Kind != "List" || len(list.Items) != 3 ||
			list.Items[0].Name != "alpha" || *list.Items[2].Spec.HolderIdentity != "us-pod-2" {
			t.Errorf("exit %d, -o json %s (%v); want a List of 3 Leases", code, stdout, err)
		}
		stdout, _, code = runBinary(t, time.Minute, nil, "watch", "--once", "-o", "name", "--kubeconfig", kc, "--context", "us")
		if code != 0 || stdout != "lease.coordination.k8s.io/alpha\n" {
			t.Errorf("exit %d, -o name %q", code, stdout)
		}

		// A forbidden context: the others are printed, its error is named,
		// and the exit code is the live watch's for it (2).
		stdout, stderr, code = runBinary(t, time.Minute, nil, "watch", "--once", "--kubeconfig", kc, "--context", "us", "--context", "nobody")
		if code != 2 || !strings.Contains(stdout, "us-pod-2") || !strings.Contains(stderr, "context nobody: forbidden") {
			t.Errorf("exit %d stdout %q stderr %q, want 2, us's rows, nobody's error", code, stdout, stderr)
		}
		// --all-contexts: every context of the kubeconfig, sorted (dead,
		// eu, nobody, us); the two that answer are printed, the two that
		// fail are named, and the first failing one's code is the exit code.
		stdout, stderr, code = runBinary(t, time.Minute, nil, "watch", "--once", "--all-contexts", "--kubeconfig", kc, "--connect-timeout", "1s")
		if code != 1 || !strings.Contains(stdout, "eu-pod-1") || !strings.Contains(stdout, "us-pod-2") ||
			!strings.Contains(stderr, "context dead: cannot reach") || !strings.Contains(stderr, "context nobody: forbidden") {
			t.Errorf("--all-contexts: exit %d stdout %q stderr %q, want 1, eu's and us's rows, dead's and nobody's errors", code, stdout, stderr)
		}
		// A server that refuses the connection: exit 1 at once, as kubectl,
		// and nothing on stdout.
		stdout, stderr, code = runBinary(t, time.Minute, nil, "watch", "--once", "--kubeconfig", kc, "--context", "dead")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "cannot reach the API server") {
			t.Errorf("exit %d stdout %q stderr %q, want 1, nothing on stdout, and the unreachable server", code, stdout, stderr)
		}
	})

	t.Run("a recording of two clusters replays as it was recorded", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "incident.jsonl")
		p := startBinary(t, nil, "watch", "-o", "json", "--kubeconfig", kc, "--context", "eu", "--context", "us", "--record", file)
		waitFor(t, 30*time.Second, "both synced", func() bool {
			return has(t, p.Stdout(), map[string]string{"type": "synced", "context": "eu"}) && has(t, p.Stdout(), map[string]string{"type": "synced", "context": "us"})
		})
		setHolder(t, cs1, ns, "alpha", "eu-pod-2")
		waitFor(t, 30*time.Second, "the transition in eu", func() bool {
			return has(t, p.Stdout(), map[string]string{"type": "transition", "context": "eu", "to": "eu-pod-2"})
		})
		p.Signal(syscall.SIGTERM)
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Fatalf("exit %d, stderr %s", code, p.Stderr())
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		header, body, _ := strings.Cut(string(data), "\n")
		var h map[string]any
		if err := json.Unmarshal([]byte(header), &h); err != nil || h["type"] != "header" || h["namespace"] != ns || h["start"] == nil || h["version"] == nil ||
			!strings.Contains(header, `"contexts":["eu","us"]`) {
			t.Errorf("header %s (%v), want type, version, contexts eu and us, namespace %s, start", header, err, ns)
		}
		if body != p.Stdout() {
			t.Errorf("the recording differs from what was printed:\n%s\nprinted:\n%s", body, p.Stdout())
		}
		replayed, stderr, code := runBinary(t, time.Minute, nil, "watch", "--replay", file, "-o", "json")
		if code != 0 || replayed != body {
			t.Errorf("replay exit %d stderr %q; replayed:\n%s\nrecorded:\n%s", code, stderr, replayed, body)
		}
		// Cut the recording in the middle of its last line: the replay
		// gives everything before it and names the line.
		cut := filepath.Join(t.TempDir(), "cut.jsonl")
		if err := os.WriteFile(cut, data[:len(data)-20], 0o600); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(data), "\n")
		replayed, stderr, code = runBinary(t, time.Minute, nil, "watch", "--replay", cut, "-o", "json")
		lines := strings.SplitAfter(body, "\n")
		if want := strings.Join(lines[:len(lines)-2], ""); code != 1 || replayed != want ||
			!strings.Contains(stderr, "replay stopped at line "+strconv.Itoa(n)) {
			t.Errorf("exit %d stderr %q, want 1 naming line %d; replayed %d bytes, want %d", code, stderr, n, len(replayed), len(want))
		}
		// --record never overwrites.
		_, stderr, code = runBinary(t, time.Minute, nil, "watch", "-o", "json", "--kubeconfig", kc, "--context", "eu", "--record", file)
		if after, _ := os.ReadFile(file); code != 2 || string(after) != string(data) || !strings.Contains(stderr, "the file exists") {
			t.Errorf("exit %d stderr %q; the recording changed: %v", code, stderr, string(after) != string(data))
		}
	})
}
