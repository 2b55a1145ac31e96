package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// The TCP engine is HAProxy's design in Go: a few event loops, each with its
// own epoll instance and its own SO_REUSEPORT socket of every listener, so
// that a connection lives on one loop from accept to close and needs no
// goroutine, no lock and no allocation per read. A loop is a goroutine that
// parks in Go's own poller on its epoll descriptor (epoll fds are pollable),
// so waiting costs no blocked thread and no scheduler hand-off. Sockets
// are non-blocking and edge-triggered; short messages go through one scratch
// buffer per loop (read, then write at once), bulk streams are spliced
// through a pipe in the kernel; data is only kept when the receiver is slow.

const (
	scratchSize   = 16 << 10 // a read that fills it marks the stream as bulk
	spliceChunk   = 1 << 20
	pipeSize      = 1 << 20
	timerInterval = 100 * time.Millisecond // resolution of connect and idle timeouts
	listenBacklog = 4096
	acceptBurst   = 64 // accepts per readiness event of a listening socket
	maxEvents     = 256
	connEvents    = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
)

// engine runs the TCP side of the data plane.
type engine struct {
	dp    *DataPlane
	loops []*loop
}

func newEngine(dp *DataPlane, n int) (*engine, error) {
	e := &engine{dp: dp}
	for i := 0; i < n; i++ {
		lp, err := newLoop(dp)
		if err != nil {
			e.stop()
			return nil, err
		}
		e.loops = append(e.loops, lp)
		go lp.run()
	}
	return e, nil
}

// stop closes every connection and listening socket and ends the loops.
func (e *engine) stop() {
	for _, lp := range e.loops {
		lp.call(func() { lp.stopping = true })
		<-lp.done
		// Only now: post may write to the eventfd until the loop is gone.
		_ = unix.Close(lp.evfd)
	}
}

// handler is what an epoll event is for: a listening socket or one side of a
// proxied connection.
type handler interface{ event(lp *loop, events uint32) }

type loop struct {
	dp   *DataPlane
	epfd int
	evfd int      // eventfd that wakes the loop for commands
	file *os.File // epfd, registered with Go's poller
	rc   syscall.RawConn

	mu   sync.Mutex
	cmds []func()

	// Owned by the loop's thread.
	handlers []handler // by fd
	gens     []int32   // by fd: generation, to drop stale events of a reused fd
	pairs    []*pair   // established and connecting connections
	paused   []*lsock  // listening sockets resting after accept ran out of resources
	shutq    []*pair   // pairs whose client is due a FIN (see pair.flow)
	round    int64     // batches of events dispatched
	scratch  []byte
	bufs     [][]byte // free pending-data buffers
	pipes    [][2]int // free (empty) pipes
	now      int64    // unix nanoseconds of the current batch of events
	lastScan int64
	stopping bool
	done     chan struct{}
	peer     unix.RawSockaddrAny // accept4's peer address, reused

	// Rate limits of the warnings while short of descriptors, memory or ports.
	acceptShortage, memberShortage shortageLog
}

func newLoop(dp *DataPlane) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	lp := &loop{dp: dp, epfd: epfd, evfd: evfd, scratch: make([]byte, scratchSize), done: make(chan struct{})}
	lp.acceptShortage.every.Interval = shortageLogEvery
	lp.memberShortage.every.Interval = shortageLogEvery
	err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)})
	if err == nil {
		err = unix.SetNonblock(epfd, true) // makes os.NewFile register it with the poller
	}
	if err == nil {
		lp.file = os.NewFile(uintptr(epfd), "elbd-epoll")
		lp.rc, err = lp.file.SyscallConn()
	}
	if err != nil {
		if lp.file != nil {
			lp.file.Close()
		} else {
			unix.Close(epfd)
		}
		unix.Close(evfd)
		return nil, fmt.Errorf("setting up the event loop: %w", err)
	}
	return lp, nil
}

// post runs fn on the loop's thread.
func (lp *loop) post(fn func()) {
	lp.mu.Lock()
	lp.cmds = append(lp.cmds, fn)
	lp.mu.Unlock()
	var one = [8]byte{1}
	_, _ = unix.Write(lp.evfd, one[:])
}

// call runs fn on the loop's thread and waits for it. It returns false when
// fn did not run: the loop has ended.
func (lp *loop) call(fn func()) bool {
	ran := make(chan struct{})
	lp.post(func() { fn(); close(ran) })
	select {
	case <-ran:
		return true
	case <-lp.done:
		select {
		case <-ran:
			return true
		default:
			return false
		}
	}
}

func (lp *loop) run() {
	defer close(lp.done)
	events := make([]unix.EpollEvent, maxEvents)
	var failed error
	for {
		// The deadline wakes the loop for connect and idle timeouts; with no
		// connection there is nothing to time out.
		armed := lp.needsTimer()
		if armed {
			_ = lp.file.SetReadDeadline(time.Now().Add(timerInterval))
		} else {
			_ = lp.file.SetReadDeadline(time.Time{})
		}
		err := lp.rc.Read(func(uintptr) bool {
			for {
				n, err := rawEpollWait(lp.epfd, events)
				if err != nil && err != unix.EINTR {
					failed = err
					return true
				}
				if n <= 0 {
					if len(lp.shutq) > 0 {
						lp.flushShutdowns(-1) // nothing else to do: send the FINs now
					}
					return false // park in Go's poller until epfd is readable
				}
				lp.dispatch(events[:n])
				if lp.stopping || (!armed && lp.needsTimer()) {
					return true // stop, or arm the timer for new connections
				}
				if n < len(events) && len(lp.shutq) == 0 {
					return false
				}
			}
		})
		if failed != nil {
			lp.dp.log.Error("epoll_wait failed; a TCP event loop stops", "err", failed)
			lp.shutdown()
			return
		}
		if lp.stopping || (err != nil && !errors.Is(err, os.ErrDeadlineExceeded)) {
			lp.shutdown()
			return
		}
		lp.now = time.Now().UnixNano()
		lp.scanIfDue()
	}
}

func (lp *loop) dispatch(events []unix.EpollEvent) {
	lp.now = time.Now().UnixNano()
	lp.round++
	defer lp.flushShutdowns(lp.round) // those queued by earlier rounds
	for i := range events {
		ev := &events[i]
		fd := int(ev.Fd)
		if fd == lp.evfd {
			lp.runCommands()
			continue
		}
		if fd < len(lp.handlers) && lp.gens[fd] == ev.Pad && lp.handlers[fd] != nil {
			lp.handlers[fd].event(lp, ev.Events)
		}
	}
	lp.scanIfDue()
}

func (lp *loop) scanIfDue() {
	if lp.now-lp.lastScan >= int64(timerInterval) {
		lp.scan()
		lp.lastScan = lp.now
	}
}

func (lp *loop) runCommands() {
	var b [8]byte
	_, _ = unix.Read(lp.evfd, b[:])
	lp.mu.Lock()
	cmds := lp.cmds
	lp.cmds = nil
	lp.mu.Unlock()
	for _, c := range cmds {
		c()
	}
}

// register adds fd to the loop's epoll set with handler h.
func (lp *loop) register(fd int, h handler, events uint32) error {
	for fd >= len(lp.handlers) {
		lp.handlers = append(lp.handlers, nil)
		lp.gens = append(lp.gens, 0)
	}
	lp.gens[fd]++
	lp.handlers[fd] = h
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: lp.gens[fd]}
	if err := rawEpollAdd(lp.epfd, fd, &ev); err != nil {
		lp.handlers[fd] = nil
		return err
	}
	return nil
}

// closeFD closes a registered fd (closing removes it from the epoll set).
func (lp *loop) closeFD(fd int) {
	if fd < len(lp.handlers) {
		lp.handlers[fd] = nil
	}
	rawClose(fd)
}

// shutdown closes everything the loop owns.
func (lp *loop) shutdown() {
	for len(lp.pairs) > 0 {
		lp.pairs[len(lp.pairs)-1].close(lp, false)
	}
	for fd, h := range lp.handlers {
		if _, ok := h.(*lsock); ok {
			lp.closeFD(fd)
		}
	}
	for _, p := range lp.pipes {
		_ = unix.Close(p[0])
		_ = unix.Close(p[1])
	}
	lp.pipes = nil
	_ = lp.file.Close() // closes epfd; evfd closes in engine.stop
}

func (lp *loop) needsTimer() bool { return len(lp.pairs) > 0 || len(lp.paused) > 0 }

// scan enforces connect timeouts, idle timeouts and connection drains, and resumes paused
// listening sockets.
func (lp *loop) scan() {
	for i := 0; i < len(lp.paused); {
		s := lp.paused[i]
		if lp.now < s.resumeAt {
			i++
			continue
		}
		lp.paused[i] = lp.paused[len(lp.paused)-1]
		lp.paused = lp.paused[:len(lp.paused)-1]
		s.paused = false
		if s.fd < len(lp.handlers) && lp.handlers[s.fd] == s {
			_ = unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_MOD, s.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.fd), Pad: lp.gens[s.fd]})
		}
	}
	for i := 0; i < len(lp.pairs); {
		p := lp.pairs[i]
		switch {
		case p.connecting && lp.now >= p.deadline:
			p.connectFailed(lp)
		case !p.connecting && lp.now-p.last >= int64(p.l.idleTimeout()):
			p.close(lp, true)
		case !p.connecting && p.b != nil && p.b.drainExpired(lp.now):
			// Connection drain (E7): the member was removed or went down
			// the drain timeout ago; its connections end now.
			p.close(lp, false)
		}
		if i < len(lp.pairs) && lp.pairs[i] == p {
			i++
		}
	}
}

func (lp *loop) getBuf() []byte {
	if n := len(lp.bufs); n > 0 {
		b := lp.bufs[n-1]
		lp.bufs = lp.bufs[:n-1]
		return b
	}
	return make([]byte, scratchSize)
}

func (lp *loop) putBuf(b []byte) {
	if len(lp.bufs) < 256 {
		lp.bufs = append(lp.bufs, b[:cap(b)])
	}
}

func (lp *loop) getPipe() ([2]int, error) {
	if n := len(lp.pipes); n > 0 {
		p := lp.pipes[n-1]
		lp.pipes = lp.pipes[:n-1]
		return p, nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return p, err
	}
	// A larger pipe moves more per splice (as Go's own splice does); the
	// default 64 KiB stays if the system does not allow it.
	_, _ = unix.FcntlInt(uintptr(p[0]), unix.F_SETPIPE_SZ, pipeSize)
	return p, nil
}

func (lp *loop) putPipe(p [2]int, empty bool) {
	if empty && len(lp.pipes) < 64 {
		lp.pipes = append(lp.pipes, p)
		return
	}
	_ = unix.Close(p[0])
	_ = unix.Close(p[1])
}

// --- listening sockets ---------------------------------------------------------------

// lsock is one SO_REUSEPORT listening socket of a listener, on one loop.
type lsock struct {
	fd       int
	l        *listener
	paused   bool  // in loop.paused, not polled
	resumeAt int64 // while paused
}

// listenTCP opens a non-blocking SO_REUSEPORT listening socket. TCP_NODELAY,
// SO_OOBINLINE and keepalive are set here because Linux copies them to
// accepted sockets.
func listenTCP(addr netip.AddrPort) (int, error) {
	sa, domain := sockaddr(addr)
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, o := range [][3]int{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{unix.SOL_SOCKET, unix.SO_OOBINLINE, 1},
	} {
		if err = unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			break
		}
	}
	if err == nil {
		err = setKeepalive(fd)
	}
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	if err == nil {
		err = unix.Listen(fd, listenBacklog)
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func sockaddr(a netip.AddrPort) (unix.Sockaddr, int) {
	if a.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}, unix.AF_INET6
}

// rawSockaddr is a member's address in the kernel's layout, built once, so
// that connect needs no conversion (and no shared mutable state) per call.
type rawSockaddr struct {
	buf    [unix.SizeofSockaddrInet6]byte
	len    uint32
	domain int
}

func newRawSockaddr(a netip.AddrPort) rawSockaddr {
	var r rawSockaddr
	if a.Addr().Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.buf[0]))
		sa.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
		sa.Addr = a.Addr().As4()
		r.len, r.domain = unix.SizeofSockaddrInet4, unix.AF_INET
		return r
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.buf[0]))
	sa.Family = unix.AF_INET6
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
	sa.Addr = a.Addr().As16()
	r.len, r.domain = unix.SizeofSockaddrInet6, unix.AF_INET6
	return r
}

func (s *lsock) event(lp *loop, _ uint32) {
	for i := 0; i < acceptBurst && !s.paused; i++ {
		alen := uint32(unix.SizeofSockaddrAny)
		r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(s.fd), uintptr(unsafe.Pointer(&lp.peer)), uintptr(unsafe.Pointer(&alen)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e != 0 {
			switch e {
			case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
			default:
				// Out of file descriptors or memory: the socket stays readable,
				// so rest it for a moment instead of spinning on accept.
				if lp.pause(s) {
					lp.acceptShortage.warn(lp, "accept failed; pausing the listener for 100ms", "listener", s.l.id, "err", e)
				}
			}
			return
		}
		lp.accepted(s.l, int(r)) // may pause s: then the burst ends
	}
}

// pause stops polling a listening socket until scan resumes it, one timer
// interval later: the process is out of descriptors or memory, and the
// connections in the backlog are better left waiting there than accepted
// and reset. It returns false when s was paused already.
func (lp *loop) pause(s *lsock) bool {
	if s.paused {
		return false
	}
	_ = unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_MOD, s.fd, &unix.EpollEvent{Events: 0, Fd: int32(s.fd), Pad: lp.gens[s.fd]})
	s.paused = true
	s.resumeAt = lp.now + int64(timerInterval)
	lp.paused = append(lp.paused, s)
	return true
}

// pauseListeners pauses all of the loop's listening sockets: err (out of
// descriptors or memory) kept a member connection from being opened.
func (lp *loop) pauseListeners(err error) {
	paused := 0
	for _, h := range lp.handlers {
		if s, ok := h.(*lsock); ok && lp.pause(s) {
			paused++
		}
	}
	if paused > 0 {
		lp.memberShortage.warn(lp, "cannot open member connections; pausing the listeners for 100ms", "listeners", paused, "err", err)
	}
}

// shortageLogEvery rate-limits a loop's warnings about running short of
// descriptors, memory or ports: a shortage lasts, and pauses repeat every
// timer interval while it does.
const shortageLogEvery = 10 * time.Second

// shortageLog is one kind of shortage warning of a loop.
type shortageLog struct {
	every   rate.Sometimes // Interval: shortageLogEvery
	skipped int            // warnings left out since the last one logged
}

// warn logs msg at most once per shortageLogEvery, with how many warnings
// were left out since the last one.
func (w *shortageLog) warn(lp *loop, msg string, args ...any) {
	w.skipped++
	w.every.Do(func() {
		lp.dp.log.Warn(msg, append(args, "similar_warnings_left_out", w.skipped-1)...)
		w.skipped = 0
	})
}

// accepted starts forwarding a new client connection.
func (lp *loop) accepted(l *listener, fd int) {
	p := &pair{l: l, idx: -1}
	p.client.fd, p.client.p, p.client.peer, p.client.fromClient = fd, p, &p.member, true
	p.member.fd, p.member.p, p.member.peer = -1, p, &p.client
	pl := l.pool.Load()
	if pl == nil {
		rejectFD(fd)
		return
	}
	p.view = pl.view.Load()
	if p.view.needsKey {
		p.key = peerKey(&lp.peer)
	}
	if !p.readEarly(lp) {
		rejectFD(fd)
		return
	}
	if err := lp.register(fd, &p.client, connEvents); err != nil {
		p.dropEarly(lp)
		rejectFD(fd)
		return
	}
	p.last = lp.now
	p.idx = len(lp.pairs)
	lp.pairs = append(lp.pairs, p)
	if !p.dial(lp) {
		p.close(lp, true)
	}
}

// rejectFD resets a client connection that cannot be served.
func rejectFD(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	_ = unix.Close(fd)
}

// ErrEngine is returned when the TCP engine cannot start.
var ErrEngine = errors.New("TCP engine unavailable")
