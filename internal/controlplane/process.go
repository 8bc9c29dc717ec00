package controlplane

import "github.com/leader-elector/leader-elector/internal/proc"

// server is etcd or kube-apiserver, with the log it writes to.
type server struct {
	*proc.Process
	bin     string
	logPath string
}

// startServer starts bin with its output appended to logPath. The server
// dies with the test process (Pdeathsig), so a killed test run leaves no
// etcd or kube-apiserver behind holding ports; elsewhere Stop must run.
func startServer(bin, logPath string, args ...string) (*server, error) {
	p, err := proc.Start(proc.Options{Path: bin, Args: args, LogPath: logPath})
	if err != nil {
		return nil, err
	}
	return &server{Process: p, bin: bin, logPath: logPath}, nil
}

// exited reports whether the server has ended, and how.
func (s *server) exited() (bool, error) { return s.Exited(), s.Err() }

// tail returns the last n lines of the server's log.
func (s *server) tail(n int) string { return proc.TailFile(s.logPath, n) }
