package controlplane

import "syscall"

// dieWithParent makes the servers die with the test process, so a killed
// test run leaves no etcd or kube-apiserver behind holding ports.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
