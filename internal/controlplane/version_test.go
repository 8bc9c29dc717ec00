package controlplane

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestAPIServerVersion runs a stand-in kube-apiserver that prints what
// --version prints, and checks the flags chosen for each release: the
// LeaseCandidate gate and group version only from 1.33, where they exist.
func TestAPIServerVersion(t *testing.T) {
	tests := []struct {
		out     string
		version string
		minor   int
		lc      bool
		err     bool
	}{
		{"Kubernetes v1.29.6", "v1.29.6", 29, false, false},
		{"Kubernetes v1.32.13\n", "v1.32.13", 32, false, false},
		{"Kubernetes v1.33.13", "v1.33.13", 33, true, false},
		{"Kubernetes v1.37.2", "v1.37.2", 37, true, false},
		{"Kubernetes v2.0.0", "", 0, false, true},
		{"something else", "", 0, false, true},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		script := "#!/bin/sh\nprintf '%s' '" + tt.out + "'\n"
		if err := os.WriteFile(filepath.Join(dir, "kube-apiserver"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		v, minor, err := apiServerVersion(dir)
		if (err != nil) != tt.err || v != tt.version || minor != tt.minor {
			t.Errorf("%q: got %q, %d, %v; want %q, %d, error %v", tt.out, v, minor, err, tt.version, tt.minor, tt.err)
		}
		if tt.err {
			continue
		}
		flags := versionFlags(minor)
		if got := slices.Contains(flags, "--runtime-config=coordination.k8s.io/v1beta1=true"); got != tt.lc {
			t.Errorf("%s: LeaseCandidates switched on %v, want %v (flags %q)", v, got, tt.lc, flags)
		}
	}
}
