package tui

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestInert(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain name unchanged", "pod-a-7d9f8_4c1e", "pod-a-7d9f8_4c1e"},
		{"empty", "", ""},
		{"escape sequence made visible", "evil\x1b[2J\x1b[31mred", `evil\x1b[2J\x1b[31mred`},
		{"OSC title set", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"newline and carriage return", "a\nb\rc\td", `a\nb\rc\td`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI as a rune", "a\u009b2J", `a\x9b2J`},
		{"stray byte that 8-bit terminals read as CSI", "a\x9b2J", `a\x9b2J`},
		{"bidi override", "admin\u202etxt.exe", `admin\u202etxt.exe`},
		{"zero-width space", "a\u200bb", `a\u200bb`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"unicode letters kept", "lïder-节点-🚀", "lïder-节点-🚀"},
		{"backspace", "abc\b\b\bxyz", `abc\x08\x08\x08xyz`},
		{"NUL", "a\x00b", `a\x00b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Inert(tt.in)
			if got != tt.want {
				t.Errorf("Inert(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Inert(got); again != got {
				t.Errorf("Inert is not idempotent: %q then %q", got, again)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Inert(%q) = %q is not valid UTF-8", tt.in, got)
			}
			for _, r := range got {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
					t.Errorf("Inert(%q) = %q still holds %U", tt.in, got, r)
				}
			}
		})
	}
}

func TestInertPlainASCIIDoesNotAllocate(t *testing.T) {
	s := "kube-controller-manager_5f3c2a1b"
	if n := testing.AllocsPerRun(100, func() { _ = Inert(s) }); n != 0 {
		t.Errorf("Inert of a plain name allocates %v times, want 0", n)
	}
}
