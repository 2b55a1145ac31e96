package nodeagent

import (
	"net/netip"
	"strings"
	"testing"
)

func TestIPAllocatorHandsOutUsableAddressesOnce(t *testing.T) {
	a, err := newIPAllocator(netip.MustParsePrefix("127.10.64.0/29"))
	if err != nil {
		t.Fatal(err)
	}
	// /29: .0 network, .1 kept free, .7 last; .2-.6 usable.
	var got []string
	for range 5 {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	if want := "127.10.64.2 127.10.64.3 127.10.64.4 127.10.64.5 127.10.64.6"; strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if _, err := a.allocate(); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("allocating from a full range: got %v, want a 'full' error", err)
	}
	a.release(netip.MustParseAddr("127.10.64.4"))
	if ip, err := a.allocate(); err != nil || ip.String() != "127.10.64.4" {
		t.Fatalf("after release: got %v, %v; want the released 127.10.64.4", ip, err)
	}
}

func TestIPAllocatorReserve(t *testing.T) {
	a, err := newIPAllocator(netip.MustParsePrefix("127.10.64.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.reserve(netip.MustParseAddr("127.10.64.2")) {
		t.Fatal("reserving a free address in range failed")
	}
	for _, ip := range []string{"127.10.64.2", "127.10.65.2", "127.10.64.0", "127.10.64.255"} {
		if a.reserve(netip.MustParseAddr(ip)) {
			t.Errorf("reserve(%s) succeeded; want refused (taken, outside, network or last address)", ip)
		}
	}
	if ip, _ := a.allocate(); ip.String() != "127.10.64.3" {
		t.Errorf("allocate after reserving .2 gave %s, want 127.10.64.3", ip)
	}
}

func TestIPAllocatorRejectsTinyRanges(t *testing.T) {
	if _, err := newIPAllocator(netip.MustParsePrefix("127.10.64.0/30")); err == nil {
		t.Error("a /30 pod CIDR must be refused")
	}
}
