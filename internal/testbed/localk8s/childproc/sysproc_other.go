//go:build !linux

package childproc

import "syscall"

// sysProcAttr: its own process group. Only Linux has a parent-death signal; the test bed runs
// on Linux, and elsewhere this package is only compiled (GOOS=darwin go vet of the controller's
// tests, which import the test bed).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
