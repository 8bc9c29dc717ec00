package elect

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	apiversion "k8s.io/apimachinery/pkg/version"
)

type fixedVersion struct {
	info *apiversion.Info
	err  error
}

func (f fixedVersion) ServerVersion(context.Context) (*apiversion.Info, error) { return f.info, f.err }

// The one line at start says which guarantee the tokens carry on this API
// server, and says so when it cannot tell.
func TestLogTokenGuarantee(t *testing.T) {
	tests := []struct {
		name string
		v    VersionReader
		want string // substring of the log line; "" = no line
	}{
		{"1.37", fixedVersion{info: &apiversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"}}, "1.35 or later, where resourceVersions are comparable by contract"},
		{"1.35 exactly", fixedVersion{info: &apiversion.Info{Major: "1", Minor: "35", GitVersion: "v1.35.0"}}, "comparable by contract"},
		{"1.34", fixedVersion{info: &apiversion.Info{Major: "1", Minor: "34", GitVersion: "v1.34.9"}}, "older than 1.35: tokens are etcd revisions"},
		{"1.29 of a vendor", fixedVersion{info: &apiversion.Info{Major: "1", Minor: "29+", GitVersion: "v1.29.6-gke.1100000"}}, "older than 1.35"},
		{"a git version that does not parse", fixedVersion{info: &apiversion.Info{Major: "1", Minor: "36+", GitVersion: "custom"}}, "1.35 or later"},
		{"nothing that parses", fixedVersion{info: &apiversion.Info{GitVersion: "custom"}}, "cannot be parsed"},
		{"unreadable", fixedVersion{err: errors.New("connection refused")}, "could not read the API server's version"},
		{"no reader", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logTokenGuarantee(context.Background(), tt.v, slog.New(slog.NewTextHandler(&buf, nil)))
			lines := strings.Count(buf.String(), "\n")
			if tt.want == "" {
				if lines != 0 {
					t.Errorf("logged %q, want nothing", buf.String())
				}
				return
			}
			if lines != 1 || !strings.Contains(buf.String(), tt.want) || !strings.Contains(buf.String(), "docs/fencing.md") {
				t.Errorf("logged %q, want one line containing %q and pointing to docs/fencing.md", buf.String(), tt.want)
			}
		})
	}
}
