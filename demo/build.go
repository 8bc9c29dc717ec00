package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/leader-elector/leader-elector"

// repoRoot finds the repository from the working directory upwards.
func repoRoot() (string, error) {
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
			return "", errors.New("not inside the leader-elector repository: run `make demo` there, or pass -bin and -controlplane")
		}
		dir = parent
	}
}

// buildControlPlane runs controlplane/build.sh, which builds etcd and
// kube-apiserver once and caches them, and returns the directory it prints.
func buildControlPlane(ctx context.Context, root string, stderr io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "controlplane", "build.sh"))
	cmd.Dir = root
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the control plane with controlplane/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// buildBinary builds ./cmd/leader-elector into bin.
func buildBinary(ctx context.Context, root, bin string, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/leader-elector")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building leader-elector: %w", err)
	}
	return nil
}
