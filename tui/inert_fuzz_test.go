package tui

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzInert feeds Inert what anyone who can write a Lease could put in a
// holder, name or label. Whatever comes in, what goes to the terminal must
// be valid UTF-8 with no ESC, no C0 or C1 control, no DEL and no invisible
// formatting character (bidi overrides reorder what the user reads), and a
// second pass must change nothing. Plain printable ASCII, the common case,
// passes through untouched. Run it longer with:
//
//	go test ./tui -run '^$' -fuzz FuzzInert -fuzztime 1m
func FuzzInert(f *testing.F) {
	for _, s := range []string{
		"",
		"replica-0",
		"\x1b[2J\x1b[H",                         // clear the screen, home the cursor
		"\x1b]0;pwned\x07",                      // set the window title (OSC ... BEL)
		"\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\", // a hyperlink
		"\x9b31m",                               // CSI as one 8-bit byte (invalid UTF-8)
		"\u009b31m",                             // CSI as the UTF-8 encoded C1 control
		"pod\r\nfake-line",
		"evil\u202eexe.txt", // right-to-left override
		"zero\u200bwidth\u2060join\ufeff",
		"line\u2028para\u2029",
		"\xff\xfe\xfd",
		"\xed\xa0\x80", // an encoded surrogate
		"\ue000private",
		"日本語-ü-😀",
		"tab\there\x00nul\x7fdel",
		`\x1b[2J`, // already escaped text stays as it is
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Inert(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Inert(%q) = %q is not valid UTF-8", s, out)
		}
		if strings.IndexByte(out, 0x1b) >= 0 {
			t.Fatalf("Inert(%q) = %q holds ESC", s, out)
		}
		for i, r := range out {
			if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Inert(%q) = %q holds %U at byte %d", s, out, r, i)
			}
		}
		if again := Inert(out); again != out {
			t.Fatalf("Inert is not idempotent on %q: %q then %q", s, out, again)
		}
		if isPrintableASCII(s) && out != s {
			t.Fatalf("Inert changed plain printable ASCII %q into %q", s, out)
		}
	})
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
