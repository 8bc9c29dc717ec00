package main

import (
	"fmt"
	"runtime/debug"
)

// versionLine is what `version` and `--version` print.
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	v, c, d := resolveVersion(version, commit, date, info)
	return fmt.Sprintf("leader-elector %s (commit %s, built %s)", v, c, d)
}

// resolveVersion prefers what goreleaser wrote with -ldflags; a `go install
// module@version` build has none of that, but the toolchain records the
// module's version (and, in a checkout built with VCS stamping, the commit
// and its time) in the binary's build info.
func resolveVersion(v, c, d string, info *debug.BuildInfo) (string, string, string) {
	if v != "dev" || info == nil {
		return v, c, d
	}
	if mv := info.Main.Version; mv != "" && mv != "(devel)" {
		v = mv
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			c = s.Value
		case "vcs.time":
			d = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		c += "-dirty"
	}
	return v, c, d
}
