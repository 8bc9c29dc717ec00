package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	text := `# a comment
command: go test ./a/
timeout: 1m

id: one
file: a/a.go
guard: the first guard
from: if x {\n\treturn\n}
to: if false {\n\treturn\n}

# another section
command: go test ./b/

id: two
file: b/b.go
guard: the second guard
from: y > 0 \\ z
to:
equivalent: nothing reads y
`
	got, err := parseList("list", text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d mutations, want 2: %+v", len(got), got)
	}
	one, two := got[0], got[1]
	if one.From != "if x {\n\treturn\n}" || one.To != "if false {\n\treturn\n}" || one.Command != "go test ./a/" || one.Timeout != time.Minute || one.Line != 5 {
		t.Errorf("one = %+v", one)
	}
	if two.From != `y > 0 \ z` || two.To != "" || two.Command != "go test ./b/" || two.Timeout != time.Minute || two.Equivalent != "nothing reads y" {
		t.Errorf("two = %+v", two)
	}
}

func TestParseListErrors(t *testing.T) {
	entry := "id: a\nfile: f.go\nguard: g\nfrom: x\nto: y\n"
	for _, tt := range []struct{ name, text, want string }{
		{"duplicate id", entry + "\n" + entry, "the id is taken"},
		{"no to", "id: a\nfile: f.go\nguard: g\nfrom: x\n", "to is required"},
		{"no guard", "id: a\nfile: f.go\nfrom: x\nto: y\n", "required"},
		{"same", "id: a\nfile: f.go\nguard: g\nfrom: x\nto: x\n", "the same"},
		{"unknown key", entry + "form: x\n", "unknown key"},
		{"key twice", entry + "to: z\n", "given twice"},
		{"setting", "comand: go test\n", "only command and timeout"},
		{"not a key", entry + "just text\n", "key: value"},
	} {
		if _, err := parseList("list", tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestApplyExactlyOnce(t *testing.T) {
	m := mutation{File: "f.go", From: "a < b", To: "false"}
	if got, err := m.apply("if a < b {}"); err != nil || got != "if false {}" {
		t.Errorf("apply = %q, %v", got, err)
	}
	for _, src := range []string{"if a <= b {}", "a < b; a < b"} {
		if _, err := m.apply(src); err == nil || !strings.Contains(err.Error(), "stale") {
			t.Errorf("apply(%q): err = %v, want stale", src, err)
		}
	}
}

// The checked-in list parses and each of its snippets occurs exactly once
// in its file, so a change to the machine that leaves an entry stale fails
// here, in the ordinary test run, not only under make mutate.
func TestGuardsApply(t *testing.T) {
	text, err := os.ReadFile("guards.txt")
	if err != nil {
		t.Fatal(err)
	}
	list, err := parseList("guards.txt", string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 40 {
		t.Errorf("%d guards listed, want at least 40", len(list))
	}
	for _, m := range list {
		if err := m.check(filepath.Join("..", "..")); err != nil {
			t.Errorf("%s (guards.txt:%d): %v", m.ID, m.Line, err)
		}
	}
}
