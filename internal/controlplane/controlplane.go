// Package controlplane runs a real etcd and kube-apiserver on 127.0.0.1 for
// tests, the demo and the benchmarks. The binaries are built from Go modules
// by build.sh (nothing else can be downloaded where CI runs) and found in its
// cache; this package only starts, watches and stops them.
package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Version is the Kubernetes version of the control plane build.sh builds.
const Version = "v1.37.2"

// ErrNotBuilt means the binaries are not in the cache yet.
var ErrNotBuilt = errors.New("test control plane not built: run `make controlplane` (or `make test`, which builds it first)")

// Options configure Start.
type Options struct {
	// BinDir holds etcd and kube-apiserver. Empty: $LEADER_ELECTOR_CONTROLPLANE,
	// else what `controlplane/build.sh --check` reports.
	BinDir string
	// Dir keeps data, certificates and logs. Empty: a new temp dir, removed by Stop.
	Dir string
	// ExtraAPIServerFlags are appended to kube-apiserver's flags.
	ExtraAPIServerFlags []string
}

// ControlPlane is a running etcd + kube-apiserver pair.
type ControlPlane struct {
	// Host is the API server's URL, https://127.0.0.1:PORT.
	Host string
	// Admin is a system:masters client configuration.
	Admin *rest.Config
	// StartupTime is how long Start took from first exec to /readyz.
	StartupTime time.Duration
	// Dir holds the data, certificates and logs.
	Dir string
	// Version is what the kube-apiserver binary reports, e.g. v1.37.2: the
	// default build's, or another's with LEADER_ELECTOR_CONTROLPLANE
	// (make test-compat).
	Version string

	binDir    string
	ownDir    bool
	ca        *certAuthority
	etcd      *server
	apiserver *server
	apiArgs   []string
	mu        sync.Mutex
	stopped   bool
}

// BinDir finds the directory holding the binaries or returns ErrNotBuilt.
func BinDir() (string, error) {
	if d := os.Getenv("LEADER_ELECTOR_CONTROLPLANE"); d != "" {
		return d, checkBins(d)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", ErrNotBuilt
	}
	out, err := exec.Command(filepath.Join(filepath.Dir(file), "build.sh"), "--check").Output()
	if err != nil {
		return "", ErrNotBuilt
	}
	d := strings.TrimSpace(string(out))
	return d, checkBins(d)
}

// apiServerVersion asks the binary its version ("Kubernetes v1.37.2") and
// returns it with its minor number.
func apiServerVersion(binDir string) (string, int, error) {
	out, err := exec.Command(filepath.Join(binDir, "kube-apiserver"), "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("kube-apiserver --version: %w", err)
	}
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Kubernetes "))
	var major, minor int
	if _, err := fmt.Sscanf(v, "v%d.%d", &major, &minor); err != nil || major != 1 {
		return "", 0, fmt.Errorf("kube-apiserver --version says %q, not v1.MINOR", out)
	}
	return v, minor, nil
}

// versionFlags are the flags only some releases know. LeaseCandidates
// (coordinated leader election) are served as coordination.k8s.io/v1beta1
// from 1.33; before, the gate and the group version do not exist, or name
// another version, and kube-apiserver refuses to start with them.
func versionFlags(minor int) []string {
	if minor < 33 {
		return nil
	}
	return []string{
		"--feature-gates=CoordinatedLeaderElection=true",
		"--runtime-config=coordination.k8s.io/v1beta1=true",
	}
}

func checkBins(dir string) error {
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return ErrNotBuilt
		}
	}
	return nil
}

// Start runs etcd and kube-apiserver on free loopback ports and waits until
// the API server is ready. A port picked as free can be taken before the
// server binds it, so a failed start is retried on new ports.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		cp, err := start(ctx, opts)
		if err == nil {
			return cp, nil
		}
		lastErr = err
		if ctx.Err() != nil || errors.Is(err, ErrNotBuilt) {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, opts Options) (*ControlPlane, error) {
	began := time.Now()
	binDir := opts.BinDir
	if binDir == "" {
		d, err := BinDir()
		if err != nil {
			return nil, err
		}
		binDir = d
	}
	version, minor, err := apiServerVersion(binDir)
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{binDir: binDir, Dir: opts.Dir, Version: version}
	if cp.Dir == "" {
		d, err := os.MkdirTemp("", "leader-elector-controlplane-")
		if err != nil {
			return nil, fmt.Errorf("creating the control plane's directory: %w", err)
		}
		cp.Dir, cp.ownDir = d, true
	}
	ok := false
	defer func() {
		if !ok {
			cp.Stop()
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	cp.Host = fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	cp.etcd, err = startServer(filepath.Join(binDir, "etcd"), filepath.Join(cp.Dir, "etcd.log"),
		"--name=default",
		"--data-dir="+filepath.Join(cp.Dir, "etcd-data"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, http.DefaultClient, etcdURL+"/health", "", 30*time.Second, cp.etcd); err != nil {
		return nil, fmt.Errorf("waiting for etcd: %w\n%s", err, cp.etcd.tail(20))
	}

	files, err := writeCredentials(cp.Dir)
	if err != nil {
		return nil, err
	}
	cp.ca = files.ca
	cp.apiArgs = append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // v1.37 refuses a loopback advertise address otherwise
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir=" + filepath.Join(cp.Dir, "certs"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-key-file=" + files.saKey,
		"--service-account-signing-key-file=" + files.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--token-auth-file=" + files.tokens,
		"--client-ca-file=" + files.caCert,
		"--authorization-mode=RBAC",
		"--storage-media-type=application/json",
	}, versionFlags(minor)...)
	cp.apiArgs = append(cp.apiArgs, opts.ExtraAPIServerFlags...)
	if err := cp.startAPIServer(ctx); err != nil {
		return nil, err
	}
	cp.Admin = &rest.Config{
		Host:            cp.Host,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.servingCA()},
		QPS:             200,
		Burst:           400,
	}
	cp.StartupTime = time.Since(began)
	ok = true
	return cp, nil
}

func (cp *ControlPlane) startAPIServer(ctx context.Context) error {
	p, err := startServer(filepath.Join(cp.binDir, "kube-apiserver"), filepath.Join(cp.Dir, "kube-apiserver.log"), cp.apiArgs...)
	if err != nil {
		return err
	}
	cp.mu.Lock()
	cp.apiserver = p
	cp.mu.Unlock()
	// The serving certificate is written by the API server at start.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}, Timeout: 5 * time.Second}
	if err := waitHTTP(ctx, client, cp.Host+"/readyz", adminToken, 60*time.Second, p); err != nil {
		return fmt.Errorf("waiting for kube-apiserver: %w\n%s", err, p.tail(30))
	}
	return nil
}

// servingCA returns the API server's self-signed serving certificate, which
// covers 127.0.0.1, so clients verify TLS instead of skipping it.
func (cp *ControlPlane) servingCA() []byte {
	b, _ := os.ReadFile(filepath.Join(cp.Dir, "certs", "apiserver.crt"))
	return b
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port;
// etcd keeps the data, so clients see a connection loss and then the same state.
func (cp *ControlPlane) RestartAPIServer(ctx context.Context) error {
	cp.mu.Lock()
	p := cp.apiserver
	cp.mu.Unlock()
	if p != nil {
		p.Stop(syscall.SIGTERM, 10*time.Second)
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ { // the old socket may linger a moment
		if err = cp.startAPIServer(ctx); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("restarting kube-apiserver: %w", err)
}

// Stop ends both processes and removes the directory Start created.
func (cp *ControlPlane) Stop() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.stopped {
		return
	}
	cp.stopped = true
	if cp.apiserver != nil {
		cp.apiserver.Stop(syscall.SIGTERM, 10*time.Second)
	}
	if cp.etcd != nil {
		cp.etcd.Stop(syscall.SIGTERM, 10*time.Second)
	}
	if cp.ownDir {
		os.RemoveAll(cp.Dir)
	}
}

// Logs returns the last lines of both servers' logs.
func (cp *ControlPlane) Logs(lines int) string {
	var b bytes.Buffer
	for _, p := range []*server{cp.etcd, cp.apiserver} {
		if p != nil {
			fmt.Fprintf(&b, "==> %s <==\n%s\n", filepath.Base(p.logPath), p.tail(lines))
		}
	}
	return b.String()
}
