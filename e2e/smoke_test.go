package e2e

import (
	"strings"
	"testing"
	"time"
)

// The CLI skeleton: help reads, version reports, usage errors are one line
// ending in "see --help" with exit 2 (not kong's 80 and a usage dump).
func TestCLIUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr, which must be one line
	}{
		{"help", []string{"--help"}, 0, "Usage: leader-elector <command>", ""},
		// "dev", or the module version `go build` stamps from VCS.
		{"version", []string{"version"}, 0, "leader-elector ", ""},
		{"--version", []string{"--version"}, 0, "leader-elector ", ""},
		{"unknown flag", []string{"--bogus"}, 2, "", "unknown flag --bogus; see --help"},
		{"unknown command", []string{"frobnicate"}, 2, "", "see --help"},
		{"bad enum", []string{"--log-format=xml", "version"}, 2, "", "see --help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBinary(t, 10*time.Second, nil, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.wantOut)
			}
			if tt.wantErr != "" {
				if !strings.Contains(errOut, tt.wantErr) {
					t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
				}
				if n := strings.Count(strings.TrimRight(errOut, "\n"), "\n"); n != 0 {
					t.Errorf("stderr has %d lines, want one: %q", n+1, errOut)
				}
			}
		})
	}
}

// TestVersionFlag: --version prints exactly what `version` prints, for the
// built binary.
func TestVersionFlag(t *testing.T) {
	cmdOut, _, code := runBinary(t, 10*time.Second, nil, "version")
	flagOut, _, flagCode := runBinary(t, 10*time.Second, nil, "--version")
	if code != 0 || flagCode != 0 || cmdOut != flagOut || !strings.HasPrefix(cmdOut, "leader-elector ") {
		t.Errorf("version: exit %d, %q; --version: exit %d, %q; want both 0 and the same line", code, cmdOut, flagCode, flagOut)
	}
}
