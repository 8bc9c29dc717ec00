// Package exitcode gives errors the process exit code they stand for, so the
// mode packages can say "this is a configuration problem" without knowing
// about main, and main maps every error in one place. The codes are defined
// here only; main and the README use these.
package exitcode

import "fmt"

// The documented exit codes.
const (
	OK        = 0   // clean shutdown
	Runtime   = 1   // a failure while running (API lost for good, I/O error)
	Config    = 2   // bad flags (usage errors included), bad files, missing RBAC: fix the input and retry
	Interrupt = 130 // stopped by SIGINT before anything started
)

// Error is an error with the exit code it should end the process with. It
// unwraps to Err, so errors.Is and errors.As see through it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is what main looks for with errors.As.
func (e *Error) ExitCode() int { return e.Code }

// Configf returns a configuration error (exit 2). The message should name the
// problem and the fix in one line. Format a cause with %w, as fmt.Errorf
// does, so that errors.Is and errors.As still find it: %v keeps only its
// text.
func Configf(format string, args ...any) error {
	return &Error{Code: Config, Err: fmt.Errorf(format, args...)}
}

// WithCode wraps err with code; a nil err stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}
