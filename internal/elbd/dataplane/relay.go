package dataplane

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// relayBufSize is the buffer of the read/write phase; a read that fills it
// marks the stream as bulk.
const relayBufSize = 16 << 10

var relayBufs = sync.Pool{New: func() any { b := make([]byte, relayBufSize); return &b }}

// relay copies one direction of a TCP connection. It starts with plain reads
// and writes through a pooled buffer that it holds only while data is in
// flight (an idle connection holds none), which is the cheapest way to move
// request/response traffic. Once a read fills the buffer the stream is bulk,
// and it switches to io.Copy between the two *net.TCPConn, which splices in
// the kernel (no copy to user space).
type relay struct {
	dst, src *net.TCPConn
	rc       syscall.RawConn
	bulk     bool
}

func newRelay(dst, src *net.TCPConn) (*relay, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &relay{dst: dst, src: src, rc: rc}, nil
}

// copy moves data until src ends (nil error, like io.Copy), fails, or its
// read deadline passes; it returns the bytes written to dst.
func (r *relay) copy() (int64, error) {
	var n int64
	for !r.bulk {
		var rerr, werr error
		eof := false
		err := r.rc.Read(func(fd uintptr) bool {
		again:
			bp := relayBufs.Get().(*[]byte)
			nr, e := readFD(int(fd), *bp)
			switch {
			case e == syscall.EAGAIN:
				relayBufs.Put(bp)
				return false // wait until readable, holding no buffer
			case e != nil:
				relayBufs.Put(bp)
				rerr = os.NewSyscallError("read", e)
				return true
			case nr == 0:
				relayBufs.Put(bp)
				eof = true
				return true
			}
			nw, e := r.dst.Write((*bp)[:nr])
			relayBufs.Put(bp)
			n += int64(nw)
			if e != nil {
				werr = e
				return true
			}
			if nr == relayBufSize {
				r.bulk = true
				return true
			}
			// Read again even after a short read: a FIN that came with the
			// data is only seen by the next read, and the edge-triggered
			// poller would not wake us for it again.
			goto again
		})
		switch {
		case err != nil:
			return n, err // deadline, or closed by the other direction
		case rerr != nil:
			return n, rerr
		case werr != nil:
			return n, werr
		case eof:
			return n, nil
		}
	}
	m, err := io.Copy(r.dst, r.src)
	return n + m, err
}

func readFD(fd int, b []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
