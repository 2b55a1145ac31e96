package dataplane

import (
	"unsafe"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"golang.org/x/sys/unix"
)

// pair is one client connection forwarded to one member, owned by one loop.
type pair struct {
	l          *listener
	b          *backend // the member, once picked
	view       *poolView
	key        uint64 // client address hash, for SOURCE_IP
	client     side
	member     side
	connecting bool
	counted    bool  // counted as an active connection
	deadline   int64 // end of the current connect attempt
	last       int64 // last activity, for the idle timeout
	tried      [8]int
	ntried     int
	early      int   // bytes read at accept, counted once a member takes them
	shutQueued bool  // in loop.shutq: the client's FIN is due
	shutRound  int64 // the round of events that queued it
	idx        int   // in loop.pairs; -1 when not listed
}

// side is one socket of a pair and the data waiting to be written to it.
type side struct {
	fd         int
	p          *pair
	peer       *side
	fromClient bool // data read from this side goes to the member

	readable, writable bool // edge-triggered readiness not yet used up
	rdhup              bool // the peer has shut down its writing: read to EOF
	eof                bool // read returned 0
	shut               bool // we shut down writing to this side

	// Data read from the peer and not yet written here: a buffer, or bytes
	// sitting in a pipe once the stream towards this side is spliced.
	pend    []byte
	pendOff int
	pipe    [2]int
	hasPipe bool
	inPipe  int
}

func peerKey(sa *unix.RawSockaddrAny) uint64 {
	var ip [16]byte
	switch sa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		ip[10], ip[11] = 0xff, 0xff
		copy(ip[12:], a.Addr[:])
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		ip = a.Addr
	}
	return balance.HashBytes(ip[:])
}

// readEarly reads what the client sent before its connection was accepted
// (most clients speak first, and often have by then) into member.pend, so
// that dial can send it along with the member's handshake. It returns false
// when the client connection has failed.
func (p *pair) readEarly(lp *loop) bool {
	n, err := rawRead(p.client.fd, lp.scratch)
	switch {
	case err == unix.EAGAIN:
	case err != nil:
		return false
	case n == 0:
		p.client.eof = true
	default:
		buf := lp.getBuf()
		p.member.pend = buf[:copy(buf, lp.scratch[:n])]
		p.early = n
		p.client.readable = n == len(lp.scratch) // a full read: more may wait
	}
	return true
}

func (p *pair) dropEarly(lp *loop) {
	if p.member.pend != nil {
		lp.putBuf(p.member.pend)
		p.member.pend = nil
	}
}

// dial connects to the next member the algorithm picks, skipping members
// that failed for this connection. It returns false when none is left.
//
// Early client data is sent right after connect: on loopback the handshake
// has completed inside connect, and with TCP_DEFER_ACCEPT set on the
// connecting socket the kernel holds the handshake's last ACK back for the
// first data, so the two leave as one segment. Without early data nothing
// is held back: the member may be the one to speak first.
func (p *pair) dial(lp *loop) bool {
	attempts := min(lp.dp.attempts, len(p.tried))
	early := p.member.pend
	for p.ntried < attempts {
		i := p.view.picker.Pick(p.key, p.tried[:p.ntried])
		if i < 0 {
			return false
		}
		p.tried[p.ntried] = i
		p.ntried++
		b := p.view.usable[i]
		fd, err := connectTo(b, len(early) > 0)
		if err == nil {
			p.b = b
			p.member = side{fd: fd, p: p, peer: &p.client, pend: early}
			if err = lp.register(fd, &p.member, connEvents); err != nil {
				lp.closeFD(fd)
			} else if p.sendEarly(lp) {
				return true
			}
			p.member.fd = -1
		}
		if health.IsLocalResourceError(err) {
			// The balancer, not the member, is short of descriptors, memory
			// or ports: no other member would do better, and the backlog is
			// better left waiting than accepted and reset.
			lp.pauseListeners(err)
			return false
		}
		b.stats.failed.Add(1)
		p.l.stats.failed.Add(1)
	}
	return false
}

// sendEarly sends the early data on a member connection just started. It
// returns false (the member fd closed) when the member refused it.
func (p *pair) sendEarly(lp *loop) bool {
	s := &p.member
	if len(s.pend) > 0 {
		n, err := rawSend(s.fd, s.pend, false)
		switch err {
		case nil:
			p.connected()
			s.pendOff = n
			if n == len(s.pend) {
				lp.putBuf(s.pend)
				s.pend, s.pendOff = nil, 0
			}
			return true
		case unix.EAGAIN: // not connected yet: flow sends it once connected
		default:
			lp.closeFD(s.fd)
			return false
		}
	}
	p.connecting = true
	p.deadline = lp.now + int64(lp.dp.opts.DialTimeout)
	return true
}

// connected counts a connection whose member connect completed, with the
// early bytes it carries.
func (p *pair) connected() {
	p.connecting = false
	p.counted = true
	p.b.stats.active.Add(1)
	p.b.stats.total.Add(1)
	p.l.stats.active.Add(1)
	p.l.stats.total.Add(1)
	if p.early > 0 {
		p.count(&p.client, p.early)
		p.early = 0
	}
}

// connectTo starts a non-blocking connect; loopback connects usually
// complete (or are refused) at once. holdACK makes the handshake's last ACK
// wait for the first data (TCP_DEFER_ACCEPT does that on connecting sockets).
// The error is the errno of socket or connect.
func connectTo(b *backend, holdACK bool) (int, error) {
	fd, err := rawSocket(b.raw.domain)
	if err != nil {
		return -1, err
	}
	rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	// Urgent bytes stay in the stream and are forwarded like any other
	// (out of band they would be dropped: nothing reads them with MSG_OOB).
	rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_OOBINLINE, 1)
	if holdACK {
		rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1)
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&b.raw.buf[0])), uintptr(b.raw.len))
	if e != 0 && e != unix.EINPROGRESS {
		rawClose(fd)
		return -1, e
	}
	return fd, nil
}

// connectFailed counts the failure and tries the next member.
func (p *pair) connectFailed(lp *loop) {
	p.b.stats.failed.Add(1)
	p.l.stats.failed.Add(1)
	lp.closeFD(p.member.fd)
	p.member.fd = -1
	p.connecting = false
	if !p.dial(lp) {
		p.close(lp, true)
	}
}

func (s *side) event(lp *loop, ev uint32) {
	p := s.p
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		s.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		s.rdhup = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		s.writable = true
	}
	p.last = lp.now
	if p.connecting {
		if s != &p.member {
			return // client data waits until the member is connected
		}
		if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			p.connectFailed(lp)
			return
		}
		if ev&unix.EPOLLOUT == 0 {
			return
		}
		p.connected()
	}
	p.pump(lp)
}

// pump moves what can be moved in both directions, then closes the pair
// when both directions have ended.
func (p *pair) pump(lp *loop) {
	if !p.flow(lp, &p.client, &p.member) || !p.flow(lp, &p.member, &p.client) {
		p.close(lp, true)
		return
	}
	if p.client.eof && p.member.eof && p.member.drained() && p.client.drained() {
		p.close(lp, false)
	}
}

func (s *side) drained() bool { return s.pendOff >= len(s.pend) && s.inPipe == 0 }

// flow moves data from src to dst until one of them would block. It returns
// false on an error that ends the connection.
func (p *pair) flow(lp *loop, src, dst *side) bool {
	for {
		// First what is already waiting for dst.
		if dst.inPipe > 0 {
			if !dst.writable {
				return true
			}
			n, err := rawSplice(dst.pipe[0], dst.fd, dst.inPipe)
			if err == unix.EAGAIN {
				dst.writable = false
				return true
			}
			if err != nil {
				return false
			}
			dst.inPipe -= int(n)
			continue
		}
		if dst.pendOff < len(dst.pend) {
			if !dst.writable {
				return true
			}
			n, err := rawSend(dst.fd, dst.pend[dst.pendOff:], false)
			if err == unix.EAGAIN {
				dst.writable = false
				return true
			}
			if err != nil {
				return false
			}
			dst.pendOff += n
			if dst.pendOff >= len(dst.pend) {
				lp.putBuf(dst.pend)
				dst.pend, dst.pendOff = nil, 0
			}
			continue
		}
		if src.eof {
			if dst.hasPipe {
				dst.dropPipe(lp) // empty (inPipe is 0 here), and src sends no more
			}
			// Half-close: pass src's FIN on, unless dst has ended too and
			// the pair is about to be closed anyway.
			if dst.shut || dst.eof {
				return true
			}
			if dst == &p.client {
				// The member ended first (an HTTP server closing, say). Give
				// the client the rest of this round of events to close on its
				// own: then the pair just closes, without a shutdown call and
				// without a TIME_WAIT socket on our side.
				if !p.shutQueued {
					p.shutQueued = true
					p.shutRound = lp.round
					lp.shutq = append(lp.shutq, p)
				}
				return true
			}
			dst.shut = true
			if err := rawShutdownWrite(dst.fd); err != nil && err != unix.ENOTCONN {
				return false
			}
			return true
		}
		if !src.readable {
			return true
		}
		if dst.hasPipe {
			n, err := rawSplice(src.fd, dst.pipe[1], spliceChunk)
			switch {
			case err == unix.EAGAIN:
				// The burst is over and the pipe is empty (src is only read
				// once what dst waits for is written): an idle connection
				// keeps no pipe.
				src.readable = false
				dst.dropPipe(lp)
				return true
			case err != nil:
				return false
			case n == 0:
				src.eof = true
				continue
			}
			dst.inPipe += int(n)
			p.count(src, int(n))
			continue
		}
		n, err := rawRead(src.fd, lp.scratch)
		switch {
		case err == unix.EAGAIN:
			src.readable = false
			return true
		case err == unix.EINTR:
			continue
		case err != nil:
			return false
		case n == 0:
			src.eof = true
			continue
		}
		if src.rdhup && n < len(lp.scratch) {
			// The peer's FIN is in: read on into the rest of the buffer. A 0
			// says these are the stream's last bytes; more data says the read
			// had stopped short (as it does at an urgent mark).
			m, err := rawRead(src.fd, lp.scratch[n:])
			switch {
			case err == nil && m == 0:
				src.eof = true
			case err == nil:
				n += m
			case err != unix.EAGAIN && err != unix.EINTR:
				return false
			}
		}
		p.count(src, n)
		// The stream's last bytes go corked (MSG_MORE) and the shutdown
		// right after, so that the data and the FIN leave in one segment.
		last := src.eof && !dst.shut && !dst.eof
		written := 0
		if dst.writable {
			w, err := rawSend(dst.fd, lp.scratch[:n], last)
			switch {
			case err == unix.EAGAIN:
				dst.writable = false
			case err != nil:
				return false
			default:
				written = w
			}
		}
		if last && written == n {
			dst.shut = true
			err := rawShutdownWrite(dst.fd)
			return err == nil || err == unix.ENOTCONN
		}
		if written < n {
			// dst is slow: keep the rest, stop reading src until it drains.
			buf := lp.getBuf()
			dst.pend = buf[:copy(buf, lp.scratch[written:n])]
			dst.pendOff = 0
			dst.writable = false
		}
		switch {
		case n == len(lp.scratch):
			// Bulk: splice the rest of the stream in the kernel.
			if pp, err := lp.getPipe(); err == nil {
				dst.pipe, dst.hasPipe = pp, true
			}
		case src.eof || src.rdhup:
			// Pass the FIN on, or read on to it.
		default:
			// A short read drained the socket; new data or a FIN will raise
			// a new edge.
			src.readable = false
			return true
		}
	}
}

// dropPipe gives the side's pipe, which must be empty, back to the loop;
// the next bulk burst towards the side takes one again.
func (s *side) dropPipe(lp *loop) {
	lp.putPipe(s.pipe, true)
	s.hasPipe = false
}

func (p *pair) count(src *side, n int) {
	if src.fromClient {
		p.b.stats.bytesIn.Add(int64(n))
		p.l.stats.bytesIn.Add(int64(n))
	} else {
		p.b.stats.bytesOut.Add(int64(n))
		p.l.stats.bytesOut.Add(int64(n))
	}
}

// close ends the pair; abort resets both sockets (an error, idleness, or a
// connection that could not be served) instead of closing them gracefully.
func (p *pair) close(lp *loop, abort bool) {
	for _, s := range []*side{&p.client, &p.member} {
		if s.fd >= 0 {
			if abort {
				_ = unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			}
			lp.closeFD(s.fd)
			s.fd = -1
		}
		// Also without a socket: early client data no member took.
		if s.pend != nil {
			lp.putBuf(s.pend)
			s.pend = nil
		}
		if s.hasPipe {
			lp.putPipe(s.pipe, s.inPipe == 0)
			s.hasPipe = false
		}
	}
	if p.counted {
		p.counted = false
		p.b.stats.active.Add(-1)
		p.l.stats.active.Add(-1)
	}
	if i := p.idx; i >= 0 {
		last := len(lp.pairs) - 1
		lp.pairs[i] = lp.pairs[last]
		lp.pairs[i].idx = i
		lp.pairs[last] = nil
		lp.pairs = lp.pairs[:last]
		p.idx = -1
	}
}

// flushShutdowns passes on the FINs queued before round (all with -1).
func (lp *loop) flushShutdowns(round int64) {
	kept := lp.shutq[:0]
	for _, p := range lp.shutq {
		if round >= 0 && p.shutRound >= round {
			kept = append(kept, p)
			continue
		}
		p.shutQueued = false
		c := &p.client
		if p.idx < 0 || c.shut || c.eof {
			continue // closed meanwhile, or the client closed first
		}
		c.shut = true
		if err := rawShutdownWrite(c.fd); err != nil && err != unix.ENOTCONN {
			p.close(lp, true)
		}
	}
	for i := len(kept); i < len(lp.shutq); i++ {
		lp.shutq[i] = nil
	}
	lp.shutq = kept
}
