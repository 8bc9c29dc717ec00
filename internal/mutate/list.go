package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// defaultCommand is the suite each mutant runs when the list names none.
const defaultCommand = "go test -count=1 ./elect/..."

// mutation is one entry of the list: one guard, removed by replacing From
// with To in File.
type mutation struct {
	ID         string
	File       string // relative to the module's root
	Guard      string // what the guard protects
	From, To   string
	Equivalent string // why the mutant cannot change behaviour ("": it must be killed)
	Command    string // the suite to run
	Timeout    time.Duration
	Line       int // where the entry starts in the list
}

// parseList reads the list's format (guards.txt says it in its header):
// records separated by blank lines, one "key: value" per line, '#' lines
// ignored. A record without an id sets command and timeout for the records
// after it. In from and to, \n, \t and \\ stand for a newline, a tab and a
// backslash.
func parseList(name string, text string) ([]mutation, error) {
	var (
		out     []mutation
		command = defaultCommand
		timeout time.Duration
		rec     map[string]string
		start   int
		seen    = map[string]int{}
	)
	flush := func() error {
		if rec == nil {
			return nil
		}
		defer func() { rec = nil }()
		if rec["id"] == "" {
			for k, v := range rec {
				switch k {
				case "command":
					command = v
				case "timeout":
					d, err := time.ParseDuration(v)
					if err != nil {
						return fmt.Errorf("%s:%d: timeout: %w", name, start, err)
					}
					timeout = d
				default:
					return fmt.Errorf("%s:%d: a record without an id may set only command and timeout, not %q", name, start, k)
				}
			}
			return nil
		}
		m := mutation{ID: rec["id"], File: rec["file"], Guard: rec["guard"], Equivalent: rec["equivalent"],
			Command: command, Timeout: timeout, Line: start}
		for k, v := range rec {
			switch k {
			case "id", "file", "guard", "equivalent":
			case "from":
				m.From = unescape(v)
			case "to":
				m.To = unescape(v)
			default:
				return fmt.Errorf("%s:%d: %s: unknown key %q", name, start, m.ID, k)
			}
		}
		switch {
		case m.File == "" || m.Guard == "" || m.From == "":
			return fmt.Errorf("%s:%d: %s: file, guard and from are required", name, start, m.ID)
		case m.From == m.To:
			return fmt.Errorf("%s:%d: %s: from and to are the same", name, start, m.ID)
		case seen[m.ID] != 0:
			return fmt.Errorf("%s:%d: %s: the id is taken at line %d", name, start, m.ID, seen[m.ID])
		}
		if _, ok := rec["to"]; !ok {
			return fmt.Errorf("%s:%d: %s: to is required (empty deletes from)", name, start, m.ID)
		}
		seen[m.ID] = start
		out = append(out, m)
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"key: value\", got %q", name, n, line)
		}
		if rec == nil {
			rec, start = map[string]string{}, n
		}
		key = strings.TrimSpace(key)
		if _, dup := rec[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s given twice in one record", name, n, key)
		}
		rec[key] = strings.TrimSpace(value)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, sc.Err()
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte(s[i]) // \\ and anything else: the character itself
		}
	}
	return b.String()
}

// apply returns src with m applied, or why it cannot be: the snippet must
// occur exactly once, or the entry is stale.
func (m mutation) apply(src string) (string, error) {
	switch n := strings.Count(src, m.From); n {
	case 1:
		return strings.Replace(src, m.From, m.To, 1), nil
	case 0:
		return "", fmt.Errorf("stale: %q is not in %s", m.From, m.File)
	default:
		return "", fmt.Errorf("stale: %q occurs %d times in %s", m.From, n, m.File)
	}
}

// check reports whether m applies to the module at root.
func (m mutation) check(root string) error {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return fmt.Errorf("stale: %w", err)
	}
	_, err = m.apply(string(src))
	return err
}
