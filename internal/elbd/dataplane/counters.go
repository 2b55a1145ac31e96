package dataplane

import "sync/atomic"

// counters are the traffic counters of a listener or a member. They are
// updated with atomics on the hot path and read by getters and metrics.
type counters struct {
	active   atomic.Int64 // open TCP connections / live UDP flows
	total    atomic.Int64 // connections / flows forwarded since start
	bytesIn  atomic.Int64 // bytes from clients to members
	bytesOut atomic.Int64 // bytes from members to clients
	failed   atomic.Int64 // failed connects to a member (TCP) / refused flows (UDP)
}

// Counters is a snapshot of a listener's or member's counters.
type Counters struct {
	ActiveConnections int64
	TotalConnections  int64
	BytesIn           int64 // client → member
	BytesOut          int64 // member → client
	FailedConnects    int64
}

func (c *counters) snapshot() Counters {
	return Counters{
		ActiveConnections: c.active.Load(),
		TotalConnections:  c.total.Load(),
		BytesIn:           c.bytesIn.Load(),
		BytesOut:          c.bytesOut.Load(),
		FailedConnects:    c.failed.Load(),
	}
}
