package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const modulePath = "github.com/leader-elector/leader-elector"

// ModuleRoot finds this repository from the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("reading the working directory: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the " + modulePath + " module")
		}
		dir = parent
	}
}

// BuildOptions say which main package of this module to build, and how.
type BuildOptions struct {
	// Root is the module's directory; "" finds it with ModuleRoot.
	Root string
	// Package is relative to Root: "./cmd/leader-elector", "./bench/baseline".
	Package string
	// Out is the binary to write.
	Out string
	// Stripped builds as releases are (-ldflags=-s -w), for a binary size
	// that means something. It keeps the other build flags, so the tests'
	// build cache serves it: -trimpath would recompile every dependency.
	Stripped bool
	// Release builds exactly as goreleaser does: static (CGO_ENABLED=0),
	// -trimpath and stripped. The first such build recompiles every
	// dependency; the release check (make release-check) warms the cache
	// for it.
	Release bool
}

// Build runs go build; the compiler's output is in the error.
func Build(ctx context.Context, o BuildOptions) error {
	if o.Root == "" {
		root, err := ModuleRoot()
		if err != nil {
			return fmt.Errorf("building %s: %w", o.Package, err)
		}
		o.Root = root
	}
	args := []string{"build", "-o", o.Out}
	if o.Release {
		args = append(args, "-trimpath")
	}
	if o.Stripped || o.Release {
		args = append(args, "-ldflags=-s -w")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, o.Package)...)
	cmd.Dir = o.Root
	if o.Release {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", o.Package, err, bytes.TrimSpace(out))
	}
	return nil
}
