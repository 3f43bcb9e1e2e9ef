package kubeapi

import "syscall"

// sysProcAttr makes the kernel kill a child when the OS thread that started
// it exits, so that etcd and kube-apiserver do not outlive a test binary that
// dies without running its cleanups (a panic, a -timeout, a SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// processAlive reports whether a process with the given pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
