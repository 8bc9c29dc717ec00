// Package watche2e tests package watch's Watcher and Fleet against a real
// kube-apiserver and etcd (package controlplane, started once in
// TestMain). They live apart from package watch so that watch's own tests
// (the model, JSON, decoding) need no API server: `go test ./watch/...`
// runs on any machine, and `go test ./...` runs these too.
package watche2e
