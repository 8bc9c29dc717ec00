//go:build !unix

package elect

import "os"

// openNoFollow opens path for reading. Without O_NOFOLLOW only the Lstat
// before it guards against a symlink.
func openNoFollow(path string) (*os.File, error) { return os.Open(path) }
