package elect

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
	apiversion "k8s.io/apimachinery/pkg/version"
)

// VersionReader reads the API server's version (GET /version);
// internal/kubeclient's Clients provide it.
type VersionReader interface {
	ServerVersion(ctx context.Context) (*apiversion.Info, error)
}

// comparableSince is the first Kubernetes whose API contract makes
// resourceVersions comparable integers (KEP-5504, GA in 1.35).
var comparableSince = version.MajorMinor(1, 35)

// logTokenGuarantee says once which guarantee the fencing tokens carry on
// this API server: from 1.35 on, resourceVersions are comparable by the
// API's contract; before, tokens are etcd revisions, comparable in practice
// on every API server backed by etcd, not by contract. It makes one request
// (bounded by the clients' timeout) and never fails the election: a version
// it cannot read is logged as such.
func logTokenGuarantee(ctx context.Context, v VersionReader, log *slog.Logger) {
	if v == nil {
		return
	}
	info, err := v.ServerVersion(ctx)
	if err != nil {
		log.Warn("fencing tokens: could not read the API server's version; tokens are resourceVersions, comparable by contract from Kubernetes 1.35 on and, before, in practice on every API server backed by etcd (docs/fencing.md)", "err", err)
		return
	}
	log.Info(tokenGuarantee(info), "apiServer", info.GitVersion)
}

// tokenGuarantee is logTokenGuarantee's line for the server info.
func tokenGuarantee(info *apiversion.Info) string {
	v, err := serverVersion(info)
	switch {
	case err != nil:
		return fmt.Sprintf("fencing tokens: the API server's version %q cannot be parsed (%v); tokens are resourceVersions, comparable by contract from Kubernetes 1.35 on and, before, in practice on every API server backed by etcd (docs/fencing.md)", info.GitVersion, err)
	case v.AtLeast(comparableSince):
		return "fencing tokens: the API server is 1.35 or later, where resourceVersions are comparable by contract: each term's token is greater than every earlier term's (docs/fencing.md)"
	default:
		return "fencing tokens: the API server is older than 1.35: tokens are etcd revisions, greater for every later term on every API server backed by etcd, but not comparable by the API's contract (docs/fencing.md)"
	}
}

// serverVersion parses gitVersion ("v1.37.2", "v1.29.6-gke.1"), or else
// major and minor ("1", "29+").
func serverVersion(info *apiversion.Info) (*version.Version, error) {
	if v, err := version.ParseGeneric(info.GitVersion); err == nil {
		return v, nil
	}
	return version.ParseGeneric(info.Major + "." + strings.TrimSuffix(info.Minor, "+"))
}
