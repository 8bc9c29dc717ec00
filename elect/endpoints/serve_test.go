package endpoints

import (
	"errors"
	"net"
	"testing"
)

func TestListenErrorsAreConfigErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		addr string
		want string
	}{
		{busy.Addr().String(), "cannot listen on " + busy.Addr().String() + ": address already in use; pass --http-addr with a free port or empty to disable"},
		{"127.0.0.1:99999", "cannot listen on 127.0.0.1:99999: "},
		{"not-an-address", "cannot listen on not-an-address: "},
	}
	for _, tt := range tests {
		ln, err := Listen(tt.addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", tt.addr)
			continue
		}
		var coded interface{ ExitCode() int }
		if !errors.As(err, &coded) || coded.ExitCode() != 2 {
			t.Errorf("Listen(%q): %v is not a configuration error (exit 2)", tt.addr, err)
		}
		if got := err.Error(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("Listen(%q) error %q, want prefix %q", tt.addr, got, tt.want)
		}
	}
}
