package childproc

import "syscall"

// sysProcAttr: its own process group, and SIGKILL when the parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
