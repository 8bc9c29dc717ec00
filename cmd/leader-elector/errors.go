package main

import "strings"

// oneLine folds a multi-line error (kubeconfig and YAML errors often are) into
// one line, so every failure is a single line on stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
