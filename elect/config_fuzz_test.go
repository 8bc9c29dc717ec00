package elect

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// FuzzConfigValidate throws arbitrary names, identities and timings at
// Validate. It must never panic, every refusal must be a configuration
// error (exit 2; main folds its message into one line), and every configuration it
// accepts must obey the rules the sidecar's promise rests on, checked here
// in exact arithmetic (no overflow, no float rounding):
// LeaseDuration > RenewDeadline + RetryPeriod, RenewDeadline > 1.2 x
// RetryPeriod, all positive, LeaseDuration in whole seconds, and in exec
// mode 0 < Grace <= RenewDeadline - 2 x RetryPeriod. Run it longer with:
//
//	go test ./elect -run '^$' -fuzz FuzzConfigValidate -fuzztime 1m
func FuzzConfigValidate(f *testing.F) {
	s := int64(time.Second)
	for _, seed := range []struct {
		lease, ns, id, status string
		ld, rd, rp, grace     int64
		exec                  bool
	}{
		{"my-app", "default", "pod-0", "status", 15 * s, 10 * s, 2 * s, 5 * s, false},
		{"my-app", "default", "pod-0", "status", 4 * s, 2 * s, s / 2, s, true},
		{"my-app", "default", "pod-0", "status", 3 * s, 2 * s, s, 0, false},           // LD = RD + RP
		{"my-app", "default", "pod-0", "status", 10 * s, 2 * s, 2 * s, 0, false},      // RD < 1.2 RP
		{"my-app", "default", "pod-0", "status", 4500 * s / 1000, 2 * s, s, 0, false}, // not whole seconds
		{"my-app", "default", "pod-0", "status", -15 * s, 10 * s, 2 * s, 0, false},
		// RD + RP overflows int64: the rule must still hold exactly.
		{"my-app", "default", "pod-0", "status", 9_000_000_000 * s, 6_000_000_000 * s, 4_000_000_000 * s, 0, false},
		// 1.2 x RP near the top of int64, where a float64 rounds.
		{"my-app", "default", "pod-0", "status", 9_223_372_036 * s, 7_686_143_364 * s, 6_405_119_470 * s, 0, false},
		{"My_App", "default", "pod-0", "status", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "a.b", "pod-0", "status", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "pod\x1b[2J", "status", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "", "status", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "\xff", "status", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "pod-0", "", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "pod-0", "..", 15 * s, 10 * s, 2 * s, 0, false},
		{"my-app", "default", "pod-0", "status", 15 * s, 10 * s, 2 * s, 7 * s, true},
	} {
		f.Add(seed.lease, seed.ns, seed.id, seed.status, seed.ld, seed.rd, seed.rp, seed.grace, seed.exec)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, lease, ns, id, status string, ld, rd, rp, grace int64, exec bool) {
		c := Config{
			LeaseName: lease, Namespace: ns, Identity: id,
			LeaseDuration: time.Duration(ld), RenewDeadline: time.Duration(rd), RetryPeriod: time.Duration(rp),
			Grace: time.Duration(grace),
		}
		// Validate only reads the path; keep every fuzzed name inside dir.
		if status != "" {
			c.StatusFile = filepath.Join(dir, filepath.Base(status))
		}
		if exec {
			c.Command = []string{"sleep", "1"}
		}
		err := c.Validate()
		if err != nil {
			var coded *exitcode.Error
			if !errors.As(err, &coded) || coded.ExitCode() != exitcode.Config {
				t.Fatalf("Validate(%+v) = %v, not a configuration error (exit 2)", c, err)
			}
			return
		}
		// Accepted: check every rule exactly.
		L, R, P, G := big.NewInt(ld), big.NewInt(rd), big.NewInt(rp), big.NewInt(grace)
		zero := big.NewInt(0)
		switch {
		case L.Cmp(zero) <= 0 || R.Cmp(zero) <= 0 || P.Cmp(zero) <= 0:
			t.Fatalf("accepted a non-positive timing: %v / %v / %v", c.LeaseDuration, c.RenewDeadline, c.RetryPeriod)
		case ld%int64(time.Second) != 0:
			t.Fatalf("accepted a lease duration of %v, not whole seconds", c.LeaseDuration)
		case L.Cmp(new(big.Int).Add(R, P)) <= 0:
			t.Fatalf("accepted LeaseDuration %v <= RenewDeadline %v + RetryPeriod %v", c.LeaseDuration, c.RenewDeadline, c.RetryPeriod)
		case new(big.Int).Mul(R, big.NewInt(5)).Cmp(new(big.Int).Mul(P, big.NewInt(6))) <= 0:
			t.Fatalf("accepted RenewDeadline %v <= 1.2 x RetryPeriod %v", c.RenewDeadline, c.RetryPeriod)
		case exec && (G.Cmp(zero) <= 0 || G.Cmp(new(big.Int).Sub(R, new(big.Int).Mul(P, big.NewInt(2)))) > 0):
			t.Fatalf("accepted --grace %v outside (0, RenewDeadline - 2 x RetryPeriod] with %v / %v", c.Grace, c.RenewDeadline, c.RetryPeriod)
		case len(validation.IsDNS1123Subdomain(lease)) > 0:
			t.Fatalf("accepted lease name %q, not a DNS-1123 subdomain", lease)
		case len(validation.IsDNS1123Label(ns)) > 0:
			t.Fatalf("accepted namespace %q, not a DNS-1123 label", ns)
		case id == "" || len(id) > MaxIdentityLen || !utf8.ValidString(id):
			t.Fatalf("accepted identity %q: empty, longer than %d bytes or not UTF-8", id, MaxIdentityLen)
		case c.StatusFile == "":
			t.Fatalf("accepted an empty status file path")
		}
		for _, r := range id {
			if unicode.IsControl(r) {
				t.Fatalf("accepted identity %q holding the control character %U", id, r)
			}
		}
		// What it accepted at the path is nothing or a file of ours.
		if fi, err := os.Lstat(c.StatusFile); err == nil && !fi.Mode().IsRegular() {
			t.Fatalf("accepted status path %s, which is %v", c.StatusFile, fi.Mode().Type())
		}
	})
}
