package elect

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateShards: every refusal of --shards is exit 2 with one line
// naming the fix, and the valid cases pass.
func TestValidateShards(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config, dir string)
		want   string // "" = valid
	}{
		{"valid", func(*Config, string) {}, ""},
		{"one shard", func(c *Config, _ string) { c.Shards = 1 }, ""},
		{"the most shards", func(c *Config, _ string) { c.Shards = 1024 }, ""},
		{"too many shards", func(c *Config, _ string) { c.Shards = 1025 }, "--shards 1025 is out of range: use 1 to 1024"},
		{"negative shards", func(c *Config, _ string) { c.Shards = -1 }, "--shards -1 is out of range"},
		{"with a leader label", func(c *Config, _ string) { c.LeaderLabel, c.PodName = "role=leader", "pod-0" }, "--shards cannot be combined with --leader-label"},
		{"with a leader file", func(c *Config, dir string) { c.LeaderFile = filepath.Join(dir, "leader") }, "cannot be combined with --leader-file"},
		{"with a token file", func(c *Config, dir string) { c.TokenFile = filepath.Join(dir, "token") }, "cannot be combined with --token-file"},
		{"with a priority", func(c *Config, _ string) { c.Priority = 5 }, "cannot be combined with --priority"},
		{"with a command", func(c *Config, _ string) { c.Command = []string{"/app"} }, ""},
		{"no status dir", func(c *Config, _ string) { c.StatusDir = "" }, "--shards needs a status directory"},
		{"a name that overflows with the suffix", func(c *Config, _ string) { c.LeaseName = strings.Repeat("a", 230) }, "may have at most 229; shorten --lease-name"},
		{"a name that fits", func(c *Config, _ string) { c.LeaseName = strings.Repeat("a", 229) }, ""},
		{"a missing directory under an existing one", func(c *Config, dir string) { c.StatusDir = filepath.Join(dir, "new") }, ""},
		{"a directory under a missing one", func(c *Config, dir string) { c.StatusDir = filepath.Join(dir, "no", "new") }, "does not exist"},
		{"a directory under a file", func(c *Config, dir string) {
			writeFile(t, filepath.Join(dir, "f"), "x")
			c.StatusDir = filepath.Join(dir, "f", "shards")
		}, "not a directory"},
		{"a file, not a directory", func(c *Config, dir string) {
			writeFile(t, filepath.Join(dir, "f"), "x")
			c.StatusDir = filepath.Join(dir, "f")
		}, "is not a directory"},
		{"a directory holding something else", func(c *Config, _ string) { writeFile(t, filepath.Join(c.StatusDir, "app.conf"), "x") }, `holds "app.conf", which is not ours`},
		{"a shard file that is not ours", func(c *Config, _ string) { writeFile(t, filepath.Join(c.StatusDir, "shard-3"), "hello\n") }, "shard-3 holds something other than a shard file"},
		{"a shard file of ours", func(c *Config, _ string) {
			writeFile(t, filepath.Join(c.StatusDir, "shard-3"), string(shardContent(3, "pod-9", 42)))
		}, ""},
		{"a directory inside", func(c *Config, _ string) { os.Mkdir(filepath.Join(c.StatusDir, "shard-1"), 0o755) }, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			dir := t.TempDir()
			c.Shards, c.StatusDir = 8, filepath.Join(dir, "shards")
			if err := os.Mkdir(c.StatusDir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.change(&c, dir)
			checkConfigError(t, c.Validate(), tc.want)
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareStatusDir: an earlier run's files are removed, the directory
// is made when missing, and a directory that is not ours is left exactly
// as it was.
func TestPrepareStatusDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shards")
	if err := prepareStatusDir(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("a missing directory: %v", err)
	}
	writeFile(t, filepath.Join(dir, "shard-2"), string(shardContent(2, "pod-0", 7)))
	writeFile(t, filepath.Join(dir, ".shard-5.tmp-123"), "half written")
	if err := prepareStatusDir(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("stale files of ours: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
	writeFile(t, filepath.Join(dir, "shard-2"), string(shardContent(2, "pod-0", 7)))
	writeFile(t, filepath.Join(dir, "notes"), "mine")
	if err := prepareStatusDir(dir, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a directory holding someone's notes was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("a refused directory changed: %v", entries)
	}
}

func TestShardContentIsOurs(t *testing.T) {
	for _, bad := range []string{"", "pod-0", "shard=1\nidentity=pod\ntoken=1", "shard=x\nidentity=pod\ntoken=1\n", "shard=1\nidentity=\ntoken=1\n", "token=1\nshard=1\nidentity=pod\n"} {
		if checkShardContent(bad) == nil {
			t.Errorf("%q passes as a shard file", bad)
		}
	}
	if err := checkShardContent(string(shardContent(1023, "pod-0", 1<<63))); err != nil {
		t.Errorf("our own content: %v", err)
	}
}

// TestClientRate: one Lease keeps client-go's default; a group gets room
// for every Lease to renew twice a retry period, so the client's own
// limiter never holds a renewal back.
func TestClientRate(t *testing.T) {
	for _, tc := range []struct {
		shards int
		retry  time.Duration
		qps    float32
		burst  int
	}{
		{0, 2 * time.Second, 5, 10},
		{1, 2 * time.Second, 5, 10},
		{16, 2 * time.Second, 17, 34},
		{4, 500 * time.Millisecond, 20, 10},
		{1024, 2 * time.Second, 1025, 2050},
	} {
		c := Config{Shards: tc.shards, RetryPeriod: tc.retry}
		if qps, burst := c.ClientRate(); qps != tc.qps || burst != tc.burst {
			t.Errorf("%d shards, retry %v: %v/s, burst %d; want %v/s, burst %d", tc.shards, tc.retry, qps, burst, tc.qps, tc.burst)
		}
	}
}
