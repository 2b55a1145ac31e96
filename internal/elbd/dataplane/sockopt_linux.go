package dataplane

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// TCP keepalive: probe after 60 s of silence, every 15 s, give up after 4.
const (
	keepIdleSeconds  = 60
	keepIntvlSeconds = 15
	keepCount        = 4
)

// controlListen sets SO_REUSEPORT, so several sockets (and accept loops)
// share one VIP:port, and the keepalive options, which Linux copies to every
// accepted socket, so that accept needs no extra system calls for them.
func controlListen(network, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		s := int(fd)
		serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		if serr == nil && (network == "tcp" || network == "tcp4" || network == "tcp6") {
			serr = setKeepalive(s)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func setKeepalive(s int) error {
	if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepIdleSeconds); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepIntvlSeconds); err != nil {
		return err
	}
	return unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepCount)
}
