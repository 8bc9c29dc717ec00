package elect

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestWriteAtomicContentAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	old := syscallUmask(0o077) // a restrictive umask must not hide the file from the app
	defer syscallUmask(old)
	if err := writeAtomic(path, []byte("pod-0")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "pod-0" {
		t.Fatalf("read %q, %v; want exactly pod-0 with no newline", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d entries in the directory, want only the file (no temp left)", len(entries))
	}
}

// Readers hammering the file while it is written and removed, again and
// again with contents of different lengths, never see it empty or partial:
// only a whole content or no file.
func TestWriteAtomicReadersNeverSeePartial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	contents := []string{"a", "pod-with-a-longer-name-0", strings.Repeat("z", MaxIdentityLen)}
	valid := map[string]bool{}
	for _, c := range contents {
		valid[c] = true
	}
	var stop atomic.Bool
	var reads, misses atomic.Int64
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				b, err := os.ReadFile(path)
				if errors.Is(err, fs.ErrNotExist) {
					misses.Add(1)
					continue
				}
				reads.Add(1)
				if err != nil || !valid[string(b)] {
					mu.Lock()
					bad = append(bad, string(b))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 300 {
		if err := writeAtomic(path, []byte(contents[i%len(contents)])); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 {
			if err := removeFile(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d reads found the file, %d found none", reads.Load(), misses.Load())
	if len(bad) > 0 {
		t.Errorf("%d reads saw partial or empty content, e.g. %q", len(bad), bad[0])
	}
	if reads.Load() == 0 {
		t.Errorf("no read ever found the file: the test checked nothing")
	}
}
