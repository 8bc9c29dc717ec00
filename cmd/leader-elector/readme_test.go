package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/leader-elector/leader-elector/elect"
)

const readmePath = "../../README.md"

// pendingNames are documented ahead of the code that lands them. The test
// fails once the model has them, so the exception cannot outlive its reason.
var pendingNames = []string{}

// TestREADME checks what the README promises its readers: at most 400
// lines, the sections in the order a user needs them, the mount change on
// the first screen, links that lead somewhere, and flags and environment
// variables that exist.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lines := strings.Split(strings.TrimRight(readme, "\n"), "\n")
	if len(lines) > 400 {
		t.Errorf("README.md has %d lines, at most 400: move depth to docs/", len(lines))
	}

	firstScreen := strings.Join(lines[:min(len(lines), 24)], "\n")
	if !strings.Contains(firstScreen, "emptyDir") || !strings.Contains(firstScreen, "directory") {
		t.Error("the first screen (24 lines) does not tell a migrating user to mount the emptyDir on a directory")
	}

	var headings []string
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, "## "); ok {
			headings = append(headings, h)
		}
	}
	order := []string{"Install", "Migrating", "Sidecar quick start", "How your app learns", "`watch`", "The demo", "Troubleshooting", "Supported Kubernetes versions", "Links"}
	at := -1
	for _, want := range order {
		i := slices.IndexFunc(headings, func(h string) bool { return strings.HasPrefix(h, want) })
		if i < 0 {
			t.Errorf("no section %q (sections: %q)", want, headings)
			continue
		}
		if i < at {
			t.Errorf("section %q comes before the one it should follow (sections: %q)", want, headings)
		}
		at = i
	}

	checkLinks(t, readmePath)
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, d := range docs {
		checkLinks(t, d)
	}

	// Every --flag and LEADER_ELECTOR_ name the README mentions exists.
	var c cli
	parser, err := newParser(&c, "leader-elector", description, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range allFlags(parser.Model.Node) {
		known[f.Name] = true
		for _, e := range f.Envs {
			known[e] = true
		}
	}
	// Set by the sidecar for exec mode's command, not read by it.
	known[elect.TokenEnv] = true
	for _, p := range pendingNames {
		if known[p] {
			t.Errorf("%s now exists: remove it from pendingNames", p)
		}
		known[p] = true
	}
	for _, m := range regexp.MustCompile(`(?:^|[\s\x60(\[])--([a-z][a-z0-9-]+)`).FindAllStringSubmatch(readme, -1) {
		if !known[m[1]] && !slices.Contains(kubectlOnlyFlags, m[1]) {
			t.Errorf("README mentions --%s, which no command has", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`LEADER_ELECTOR_[A-Z_]+`).FindAllString(readme, -1) {
		if !known[m] {
			t.Errorf("README mentions %s, which no flag reads", m)
		}
	}
}

// kubectlOnlyFlags appear in the README in commands that are not ours.
var kubectlOnlyFlags = []string{"ignore-missing"}

var mdLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

// checkLinks fails for a relative link whose target does not exist.
func checkLinks(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
			t.Errorf("%s links to %s, which does not exist", filepath.Base(path), target)
		}
	}
}
