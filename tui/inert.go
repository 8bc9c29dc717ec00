package tui

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Inert returns s made safe to print on a terminal: every control character,
// escape sequence introducer, invalid UTF-8 byte and invisible formatting
// character (bidi overrides, zero-width marks) is replaced by a visible Go
// escape such as `\x1b`, `\n` or `\u202e`. Holder identities, names and labels
// come from whoever can write a Lease: printed raw, a holder named
// "\x1b[2J" would clear the screen. The result holds only printable runes, so
// it cannot move the cursor or recolour anything; Inert(Inert(s)) == Inert(s).
func Inert(s string) string {
	if isPlainASCII(s) {
		return s // the common case costs no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// A stray byte such as 0x9b is CSI to an 8-bit terminal.
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case unsafeRune(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlainASCII reports whether s is printable ASCII only.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// unsafeRune reports runes a terminal would act on or that hide or reorder
// text: C0/C1 controls and DEL (Cc), format characters such as bidi overrides
// and zero-width joiners (Cf), line and paragraph separators, and anything
// not printable at all (unassigned, private use, surrogates).
func unsafeRune(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		unicode.Is(unicode.Co, r) || !unicode.IsPrint(r) && r != ' '
}

// escapeRune spells r the way Go source would, which users can read.
func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x100 {
		return `\x` + hex2(byte(r))
	}
	if r < 0x10000 {
		return `\u` + pad(strconv.FormatInt(int64(r), 16), 4)
	}
	return `\U` + pad(strconv.FormatInt(int64(r), 16), 8)
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
