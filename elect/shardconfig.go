package elect

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// validateShards checks what --shards asks for: a group size in range, a
// group name that leaves room for the shard and member suffixes, a status
// directory of our own, and none of the flags that mean one leadership.
func (c Config) validateShards() error {
	if c.Shards < 1 || c.Shards > shardgroup.MaxShards {
		return exitcode.Configf("--shards %d is out of range: use 1 to %d (--shards / LEADER_ELECTOR_SHARDS)", c.Shards, shardgroup.MaxShards)
	}
	if err := shardgroup.CheckGroupName(c.LeaseName, c.Shards); err != nil {
		return exitcode.Configf("%w; shorten --lease-name / LEASE_NAME", err)
	}
	for _, f := range []struct {
		set       bool
		flag, why string
	}{
		{c.LeaderLabel != "", "--leader-label", "a Service cannot route by shard; route on the app's own shard ownership instead"},
		{c.LeaderFile != "", "--leader-file", "each shard has its own leader; watch the group or read /leader"},
		{c.TokenFile != "", "--token-file", "each shard's file in --status-dir carries its own token"},
		{c.Priority != 0, "--priority", "the plan decides which replica holds each shard; drop --priority (LEADER_ELECTOR_PRIORITY)"},
	} {
		if f.set {
			return exitcode.Configf("--shards cannot be combined with %s: %s", f.flag, f.why)
		}
	}
	if c.StatusDir == "" {
		return exitcode.Configf("--shards needs a status directory: pass --status-dir or set LEADER_ELECTOR_STATUS_DIR (default %s)", DefaultStatusDir)
	}
	_, err := scanStatusDir(c.StatusDir)
	return err
}

// ClientRate is the client-side rate limit the API client needs: client-go's
// default (5 requests a second, bursts of 10) for one Lease, and for a
// shard group room for every shard and the member Lease to renew twice a
// retry period, since a renewal held back by the limiter is a renewal
// missed.
func (c Config) ClientRate() (qps float32, burst int) {
	qps, burst = 5, 10
	if c.Shards > 0 && c.RetryPeriod > 0 {
		leases := float64(c.Shards + 1)
		qps = max(qps, float32(2*leases/c.RetryPeriod.Seconds()))
		burst = max(burst, int(2*leases))
	}
	return qps, burst
}

// shard is the Config of shard i's own machine and driver.
func (c Config) shard(i int) Config {
	s := c
	s.LeaseName = shardgroup.ShardLease(c.LeaseName, i)
	s.StatusFile = shardFile(c.StatusDir, i)
	s.LeaderFile, s.TokenFile, s.HTTPAddr = "", "", ""
	return s
}

// shardFile is the path of shard i's file in dir.
func shardFile(dir string, i int) string {
	return filepath.Join(dir, "shard-"+strconv.Itoa(i))
}

// shardContent is what shard i's file holds while this replica acts for
// it: lines a shell can source (. /var/run/shards/shard-3) and a program
// can split on "=".
func shardContent(i int, identity string, token uint64) []byte {
	return fmt.Appendf(nil, "shard=%d\nidentity=%s\ntoken=%d\n", i, identity, token)
}

// shardFileContent tells a shard file of ours from anything else.
var shardFileContent = fileContent{what: "a shard file (shard=, identity=, token= lines)", max: 64 + MaxIdentityLen, check: checkShardContent}

func checkShardContent(s string) error {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	keys := []string{"shard", "identity", "token"}
	if len(lines) != len(keys) || !strings.HasSuffix(s, "\n") {
		return fmt.Errorf("it is not three lines shard=, identity=, token=")
	}
	for i, key := range keys {
		v, ok := strings.CutPrefix(lines[i], key+"=")
		if !ok {
			return fmt.Errorf("line %d does not start with %s=", i+1, key)
		}
		switch key {
		case "identity":
			if err := checkIdentity(v); err != nil {
				return err
			}
		default:
			if _, err := strconv.ParseUint(v, 10, 64); err != nil {
				return fmt.Errorf("%s=%q is not a number", key, truncate(v, 24))
			}
		}
	}
	return nil
}
