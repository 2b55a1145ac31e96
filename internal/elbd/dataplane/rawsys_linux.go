package dataplane

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls of the TCP engine's hot path. Every socket is non-blocking,
// so these calls never wait; issuing them raw (without telling the Go
// scheduler that the thread enters a system call) saves the scheduler's
// bookkeeping and, above all, keeps it from handing the thread's P to
// another thread when a loopback write takes a few microseconds of
// in-kernel TCP work.

func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// rawRead receives with recv(2), which skips the VFS layer of read(2).
func rawRead(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	return int(r), errno(e)
}

// rawSend sends with send(2) rather than write(2): the socket call skips
// the VFS layer, and MSG_NOSIGNAL makes a closed peer an EPIPE error only.
// With more, the data is corked (MSG_MORE) until the next send or shutdown,
// which then carries it.
func rawSend(fd int, b []byte, more bool) (int, error) {
	flags := unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	if more {
		flags |= unix.MSG_MORE
	}
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(flags), 0, 0)
	return int(r), errno(e)
}

func rawSplice(in, out, n int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	return int(r), errno(e)
}

func rawShutdownWrite(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
	return errno(e)
}

func rawEpollWait(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(r), errno(e)
}

func rawEpollAdd(epfd, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errno(e)
}

func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func rawSetsockoptInt(fd, level, opt, v int) {
	val := int32(v)
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&val)), 4, 0)
}

func rawSocket(domain int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(r), errno(e)
}
