//go:build !linux

package netns

import "errors"

var errLinux = errors.New("network namespaces and the kernel data plane are Linux only")

// Inside is false: no namespaces here.
func Inside(string) (bool, error) { return false, errLinux }

// Enter fails: no namespaces here.
func Enter(string) error { return errLinux }

// LoopbackUp fails: no namespaces here.
func LoopbackUp() error { return errLinux }

// HasNetAdmin is false: no nftables here.
func HasNetAdmin() bool { return false }
