package nodeagent

import (
	"fmt"
	"net/netip"
	"sync"
)

// ipAllocator hands out the addresses of a node's pod CIDR, skipping the
// network address, the last (broadcast-like) address and the first host
// address, which stays free like a bridge gateway would be.
type ipAllocator struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]bool
	next   netip.Addr
}

func newIPAllocator(prefix netip.Prefix) (*ipAllocator, error) {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("pod CIDR %s: only IPv4 is supported", prefix)
	}
	if prefix.Bits() > 29 {
		return nil, fmt.Errorf("pod CIDR %s is too small: use /29 or larger", prefix)
	}
	first := prefix.Addr().Next().Next()
	return &ipAllocator{prefix: prefix, used: map[netip.Addr]bool{}, next: first}, nil
}

func (a *ipAllocator) usable(ip netip.Addr) bool {
	if !a.prefix.Contains(ip) || ip == a.prefix.Addr() || ip == a.prefix.Addr().Next() {
		return false
	}
	return a.prefix.Contains(ip.Next()) // not the last address
}

// allocate returns a free address, cycling through the range so that a
// released address is reused as late as possible.
func (a *ipAllocator) allocate() (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip := a.next
	for range 1 << (32 - a.prefix.Bits()) {
		if !a.usable(ip) {
			ip = a.prefix.Addr().Next().Next()
		}
		if !a.used[ip] {
			a.used[ip] = true
			a.next = ip.Next()
			return ip, nil
		}
		ip = ip.Next()
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s is full (%d pods)", a.prefix, len(a.used))
}

// reserve marks ip used (a pod that already had it); false if it is not ours or taken.
func (a *ipAllocator) reserve(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.usable(ip) || a.used[ip] {
		return false
	}
	a.used[ip] = true
	return true
}

func (a *ipAllocator) release(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, ip)
}
