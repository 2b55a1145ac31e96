package dataplane

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
)

// E4: a member's operating_status follows the documented values (operating_status in
// services/elb/v3/model/model_member.go): NO_MONITOR without a monitor, INITIAL until the first
// check result, then ONLINE/OFFLINE; UNKNOWN while no listener uses the member's pool.
func TestMemberStatusAsDocumented(t *testing.T) {
	dp := newTestDataPlane(t)
	// A member that accepts connections and never answers: an HTTP check of it times out, so
	// the first result comes only after the monitor's timeout.
	silent := serveTCP(t, "127.50.200.1", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	pool := Pool{ID: "p", Members: []Member{{ID: "m", Address: "127.50.200.1", Port: silent, Weight: 1, AdminUp: true}}}
	l := Listener{ID: "l", VIP: "127.50.0.200", Port: 8080, Protocol: ProtocolTCP}

	// The pool is used by no listener: UNKNOWN.
	apply(t, dp, Config{Listeners: []Listener{l}, Pools: []Pool{pool}})
	if s := dp.MemberStatus("m"); s != StatusUnknown {
		t.Fatalf("member of a pool no listener uses: status %q, want UNKNOWN", s)
	}

	// Used, no monitor: NO_MONITOR.
	l.Pool = &pool
	apply(t, dp, Config{Listeners: []Listener{l}})
	if s := dp.MemberStatus("m"); s != StatusNoMonitor {
		t.Fatalf("member of a pool without monitor: status %q, want NO_MONITOR", s)
	}

	// With a monitor: INITIAL while the first check runs (it takes the 2 s timeout), then OFFLINE.
	withMon := pool
	withMon.Monitor = &health.Monitor{Type: health.TypeHTTP, Delay: 5 * time.Second, Timeout: 2 * time.Second, MaxRetries: 1, MaxRetriesDown: 1}
	l.Pool = &withMon
	apply(t, dp, Config{Listeners: []Listener{l}})
	if s := dp.MemberStatus("m"); s != StatusInitial {
		t.Fatalf("member before its first check result: status %q, want INITIAL", s)
	}
	eventually(t, 5*time.Second, "member OFFLINE after its failed first check", func() bool { return dp.MemberStatus("m") == StatusOffline })

	// A TCP check of the same member succeeds: ONLINE after the first result.
	tcpMon := pool
	tcpMon.Monitor = &health.Monitor{Type: health.TypeTCP, Delay: 5 * time.Second, Timeout: 2 * time.Second, MaxRetries: 1, MaxRetriesDown: 1}
	l.Pool = &tcpMon
	apply(t, dp, Config{Listeners: []Listener{l}})
	eventually(t, 5*time.Second, "member ONLINE after a passed check", func() bool { return dp.MemberStatus("m") == StatusOnline })

	// Unused again: UNKNOWN, whatever its health.
	l.Pool = nil
	apply(t, dp, Config{Listeners: []Listener{l}, Pools: []Pool{tcpMon}})
	if s := dp.MemberStatus("m"); s != StatusUnknown {
		t.Fatalf("member of a pool no longer used: status %q, want UNKNOWN", s)
	}
}
