//go:build unix

package elect

import (
	"os"
	"syscall"
)

// openNoFollow opens path for reading, refusing a symlink swapped in since
// Lstat looked, and not blocking on a FIFO.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
