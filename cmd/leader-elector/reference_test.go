package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// referencePath is the generated flag and environment reference.
const referencePath = "../../docs/reference.md"

var updateReference = flag.Bool("update-reference", false, "rewrite "+referencePath+" from the command-line model")

// TestReference fails when docs/reference.md is not what the command-line
// model generates; regenerate it with
//
//	go test ./cmd/leader-elector -run TestReference -update-reference
func TestReference(t *testing.T) {
	got := renderReference(t)
	if *updateReference {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v; generate it with go test ./cmd/leader-elector -run TestReference -update-reference", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: regenerate it with go test ./cmd/leader-elector -run TestReference -update-reference", referencePath)
	}
}

// refRow is one flag as the reference lists it.
type refRow struct{ flag, env string }

var (
	refTableRow = regexp.MustCompile("^\\| `(?:-[a-zA-Z], )?--([a-z0-9-]+)[^`]*` \\| (?:`\\$([A-Z_]+)`|) \\|")
	helpFlag    = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?--([a-z0-9-]+)`)
	helpEnv     = regexp.MustCompile(`\(\$([A-Z_]+)\)`)
)

// TestReferenceMatchesHelp reads docs/reference.md as a user would and
// compares each command's section with what --help prints for it: the same
// flags, each with the same environment variable.
func TestReferenceMatchesHelp(t *testing.T) {
	doc, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]refRow{} // "## `leader-elector elect`" -> rows
	var cur string
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## `"); ok {
			cur = strings.TrimSuffix(h, "`")
			sections[cur] = sections[cur][:0:0]
			continue
		}
		if m := refTableRow.FindStringSubmatch(line); m != nil && cur != "" {
			sections[cur] = append(sections[cur], refRow{m[1], m[2]})
		}
	}
	commands := map[string][]string{
		"leader-elector elect":      {"elect", "--help"},
		"leader-elector watch":      {"watch", "--help"},
		"kubectl leases":            nil, // the plugin
		"leader-elector":            {"--help"},
		"leader-elector version":    {"version", "--help"},
		"leader-elector completion": {"completion", "--help"},
	}
	for cmd, args := range commands {
		t.Run(cmd, func(t *testing.T) {
			var out string
			var code int
			if args == nil {
				out, _, code = runCaptured("kubectl-leases", "--help")
			} else {
				out, _, code = runCaptured("leader-elector", args...)
			}
			if code != 0 {
				t.Fatalf("--help exits %d", code)
			}
			help := helpRows(out)
			doc, ok := sections[cmd]
			if !ok {
				t.Fatalf("%s has no section ## `%s` with flags", referencePath, cmd)
			}
			if cmd != "leader-elector" && cmd != "kubectl leases" {
				// A command's --help lists its own flags and points to
				// the global ones, which the reference lists once.
				if !strings.Contains(out, "Global flags (kubeconfig, connection, logging) apply to every command: leader-elector --help.") {
					t.Errorf("%s --help does not say where the global flags are:\n%s", cmd, out)
				}
			}
			slices.SortFunc(help, cmpRow)
			slices.SortFunc(doc, cmpRow)
			if !slices.Equal(help, doc) {
				t.Errorf("%s and --help disagree on %s:\nreference: %v\n--help:    %v", referencePath, cmd, doc, help)
			}
		})
	}
}

func cmpRow(a, b refRow) int { return strings.Compare(a.flag+" "+a.env, b.flag+" "+b.env) }

// helpRows reads the flags and their environment variables from --help
// output (a flag's description may wrap over several lines).
func helpRows(help string) []refRow {
	var rows []refRow
	for _, line := range strings.Split(help, "\n") {
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			if m[1] == "help" {
				continue
			}
			rows = append(rows, refRow{flag: m[1]})
		}
		if m := helpEnv.FindStringSubmatch(line); m != nil && len(rows) > 0 {
			rows[len(rows)-1].env = m[1]
		}
	}
	return rows
}

// renderReference writes the reference from the Kong model: one section
// per command, one table row per flag.
func renderReference(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`<!-- Generated from the command-line model by
     go test ./cmd/leader-elector -run TestReference -update-reference
     Do not edit: TestReference fails when this file is stale, and
     TestReferenceMatchesHelp when it and --help disagree. -->

# Flag and environment reference

Every flag, its environment variable and its default, as ` + "`--help`" + ` prints
them. Flags may be given before or after the command's name. Only
` + "`LEASE_NAME`, `NAMESPACE`" + ` (the original sidecar's) and ` + "`POD_NAME`" + ` (the
downward API's) are read unprefixed; every other setting reads a
` + "`LEADER_ELECTOR_`" + ` name, so an app's own ` + "`HTTP_ADDR`" + ` or ` + "`LOG_FORMAT`" + `
never reaches the sidecar. A flag given on the command line wins over its
environment variable.
`)
	var c cli
	parser, err := newParser(&c, "leader-elector", description, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	root := parser.Model.Node
	writeSection(&b, "leader-elector", "Global flags, accepted by every command.", root.Flags, nil)
	for _, cmd := range root.Children {
		writeSection(&b, "leader-elector "+cmd.Name, cmd.Help, cmd.Flags, cmd.Positional)
	}
	var p pluginCLI
	pparser, err := newParser(&p, "kubectl leases", pluginDescription, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	writeSection(&b, "kubectl leases", "The binary installed (or linked) as `kubectl-leases` is `watch` with its flags at the top, beside the global ones: `kubectl leases -A`.", pparser.Model.Node.Flags, nil)
	return b.Bytes()
}

func writeSection(b *bytes.Buffer, title, intro string, flags []*kong.Flag, args []*kong.Positional) {
	fmt.Fprintf(b, "\n## `%s`\n\n%s\n", title, intro)
	for _, a := range args {
		fmt.Fprintf(b, "\nArgument `%s`: %s\n", a.Summary(), escapeCell(a.Help))
	}
	var rows []*kong.Flag
	for _, f := range flags {
		if !f.Hidden && f.Name != "help" {
			rows = append(rows, f)
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n| Flag | Environment | Default | Description |\n|---|---|---|---|\n")
	for _, f := range rows {
		name := "--" + f.Name
		if f.Short != 0 {
			name = fmt.Sprintf("-%c, %s", f.Short, name)
		}
		if !f.IsBool() {
			name += "=" + placeholder(f)
		}
		env := ""
		if len(f.Envs) > 0 {
			env = "`$" + strings.Join(f.Envs, "`, `$") + "`"
		}
		def := ""
		if f.HasDefault && f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", name, env, def, escapeCell(f.Help))
	}
}

// placeholder is the flag's value placeholder; the default has a column.
func placeholder(f *kong.Flag) string {
	switch {
	case f.PlaceHolder != "":
		return f.PlaceHolder
	case f.Target.Type() == reflect.TypeFor[time.Duration]():
		return "DURATION"
	case f.Enum != "":
		return strings.ReplaceAll(f.Enum, ",", "|")
	default:
		return strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
	}
}

func escapeCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
