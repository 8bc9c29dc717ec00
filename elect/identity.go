package elect

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// checkIdentity says why id cannot be a holder identity: it goes into the
// status file that shell loops read and into logs, so it must be one short
// printable line.
func checkIdentity(id string) error {
	switch {
	case id == "":
		return errors.New("it is empty")
	case len(id) > MaxIdentityLen:
		return fmt.Errorf("it is %d bytes long, more than %d", len(id), MaxIdentityLen)
	case !utf8.ValidString(id):
		return errors.New("it is not valid UTF-8")
	}
	for _, r := range id {
		if r == utf8.RuneError {
			// Kong turns invalid bytes in an argument into U+FFFD, so two
			// different bad names would collapse into one identity.
			return errors.New("it is not valid UTF-8 (it holds U+FFFD, the replacement for invalid bytes)")
		}
		if unicode.IsControl(r) {
			return fmt.Errorf("it holds the control character %U", r)
		}
	}
	return nil
}
