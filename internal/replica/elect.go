package replica

import (
	"fmt"
	"net"
	"time"
)

// Elect is the command line of one `leader-elector elect` replica. Empty
// fields are left out, so the binary's defaults (or the kubeconfig's
// namespace) apply.
type Elect struct {
	Kubeconfig string
	Namespace  string
	Lease      string
	Identity   string
	StatusFile string
	LeaderFile string
	// HTTPAddr is where the endpoints listen; "" turns them off, which
	// lets many replicas run on one machine without port clashes.
	HTTPAddr                                  string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Extra comes last, so it may end with "-- CMD" (exec mode).
	Extra []string
}

// Args returns the arguments to the leader-elector binary.
func (e Elect) Args() []string {
	return append(append([]string{"elect"}, e.flags("--", true)...), e.Extra...)
}

// BaselineArgs returns the same replica's arguments to bench/baseline,
// client-go's own elector, for a fleet that mixes both. It has no leader
// file and no endpoints: LeaderFile and HTTPAddr are left out.
func (e Elect) BaselineArgs() []string {
	return append(e.flags("-", false), e.Extra...)
}

// flags writes the settings both electors share, each as prefix+name=value,
// leaving out the empty ones; ours adds the leader file and the endpoints'
// address (always: empty turns them off), which only ours has.
func (e Elect) flags(prefix string, ours bool) []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, prefix+flag+"="+v)
		}
	}
	add("kubeconfig", e.Kubeconfig)
	add("namespace", e.Namespace)
	add("lease-name", e.Lease)
	add("identity", e.Identity)
	add("status-file", e.StatusFile)
	if ours {
		add("leader-file", e.LeaderFile)
		args = append(args, prefix+"http-addr="+e.HTTPAddr)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"lease-duration", e.LeaseDuration}, {"renew-deadline", e.RenewDeadline}, {"retry-period", e.RetryPeriod}} {
		if d.v != 0 {
			add(d.flag, d.v.String())
		}
	}
	return args
}

// FreeAddr returns a loopback address nobody listens on now, for a
// replica's endpoints. Another process could take it before the replica
// binds it; the replica then exits with a bind error, which its harness
// reports.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Elector is one implementation a harness runs replicas of: ours, or
// client-go's plain elector (bench/baseline), with how a replica's command
// line is written for it.
type Elector struct {
	Name string
	Bin  string
	Args func(Elect) []string
}

// Ours is leader-elector's `elect` built at bin.
func Ours(name, bin string) Elector { return Elector{Name: name, Bin: bin, Args: Elect.Args} }

// Baseline is bench/baseline, client-go's own elector, built at bin.
func Baseline(name, bin string) Elector {
	return Elector{Name: name, Bin: bin, Args: Elect.BaselineArgs}
}
