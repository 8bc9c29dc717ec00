package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// buildControlPlane runs internal/controlplane/build.sh, which builds etcd and
// kube-apiserver once and caches them, and returns the directory it prints.
func buildControlPlane(ctx context.Context, root string, stderr io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "internal", "controlplane", "build.sh"))
	cmd.Dir = root
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the control plane with internal/controlplane/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}
