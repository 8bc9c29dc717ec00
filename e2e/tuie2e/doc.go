// Package tuie2e runs the real watcher against a real kube-apiserver and
// etcd (package controlplane, started once in TestMain) into the
// dashboard, through tui.Screen, and asserts on what it shows. These tests
// live apart from package tui so that its golden and model tests need no
// API server: `go test ./tui/...` runs on any machine, and `go test ./...`
// runs these too.
package tuie2e
