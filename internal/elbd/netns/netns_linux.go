// Package netns puts elbd in the network namespace its kernel data plane
// programs (--netns NAME, K1): a named namespace as `ip netns add` makes it
// (a bind mount under /run/netns), created if missing, with its loopback up.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where named namespaces live, as with `ip netns`.
const Dir = "/run/netns"

// reexecEnv marks the process that Enter started inside the namespace, so
// that a namespace that cannot be entered never loops.
const reexecEnv = "ELBD_NETNS_ENTERED"

// Inside reports whether this process runs in the named namespace.
func Inside(name string) (bool, error) {
	want, err := os.Stat(filepath.Join(Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cur, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return false, err
	}
	return os.SameFile(want, cur), nil
}

// Enter makes this process run in the namespace NAME: nothing when it does
// already; else it creates NAME if missing and executes this program again
// inside it, with the same arguments (it returns only on failure). The whole
// process, its API included, then runs in NAME, as under `ip netns exec`.
func Enter(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("--netns %q: give a namespace name as `ip netns` lists them (no slashes)", name)
	}
	in, err := Inside(name)
	if err != nil {
		return fmt.Errorf("--netns %s: %w", name, err)
	}
	if in {
		return LoopbackUp()
	}
	if os.Getenv(reexecEnv) != "" {
		return fmt.Errorf("--netns %s: started again inside it, but it is not the current namespace", name)
	}
	runtime.LockOSThread() // setns moves this thread only; exec takes it along
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("--netns %s: reading the current namespace: %w", name, err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(name)
	if err != nil {
		if h, err = netns.NewNamed(name); err != nil { // leaves this thread inside it
			return fmt.Errorf("--netns %s: creating the namespace: %w", name, err)
		}
	} else if err = netns.Set(h); err != nil {
		return fmt.Errorf("--netns %s: entering the namespace: %w", name, err)
	}
	defer h.Close()
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Exec(exe, os.Args, append(os.Environ(), reexecEnv+"=1"))
	}
	_ = netns.Set(orig)
	return fmt.Errorf("--netns %s: starting elbd inside it: %w", name, err)
}

// Delete removes the named namespace (tests and tools; elbd never does).
func Delete(name string) error { return netns.DeleteNamed(name) }

// LoopbackUp brings the namespace's lo up: a new namespace has it down, and
// every listener and member is a loopback address.
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading the flags of lo: %w", err)
	}
	if ifr.Uint16()&unix.IFF_UP != 0 {
		return nil
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// HasNetAdmin reports whether this process has CAP_NET_ADMIN (effective),
// which nftables and conntrack need.
func HasNetAdmin() bool {
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}
