package exitcode_test

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// TestConfigfKeepsTheCause: a configuration error still answers errors.Is
// and errors.As about the cause it was built from with %w, so a caller can
// tell "the file does not exist" from other failures without reading text.
func TestConfigfKeepsTheCause(t *testing.T) {
	_, statErr := os.Stat("/nonexistent/leader-elector-test")
	if statErr == nil {
		t.Skip("the path exists here")
	}
	err := exitcode.Configf("cannot read %s: %w; pass an existing file", "the kubeconfig", statErr)

	if got, want := err.Error(), "cannot read the kubeconfig: "+statErr.Error()+"; pass an existing file"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != exitcode.Config {
		t.Errorf("errors.As finds no exit code %d in %v", exitcode.Config, err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
	var pathErr *fs.PathError
	if !errors.As(err, &pathErr) || pathErr.Path != "/nonexistent/leader-elector-test" {
		t.Errorf("errors.As finds no *fs.PathError for the path in %v", err)
	}
}

func TestWithCode(t *testing.T) {
	if exitcode.WithCode(3, nil) != nil {
		t.Error("WithCode(3, nil) is not nil: a nil error would end the process with a code")
	}
	cause := errors.New("child exited")
	err := exitcode.WithCode(3, cause)
	var coded *exitcode.Error
	if !errors.As(err, &coded) || coded.ExitCode() != 3 || !errors.Is(err, cause) || err.Error() != "child exited" {
		t.Errorf("WithCode(3, %v) = %v: want code 3, the cause's message, and the cause", cause, err)
	}
}
