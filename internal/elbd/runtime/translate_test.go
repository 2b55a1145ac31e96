package runtime

import (
	"reflect"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

func TestTranslate(t *testing.T) {
	snap := store.Snapshot{
		LoadBalancers: []store.LoadBalancer{
			{Meta: store.Meta{ID: "lb"}, VIPAddress: "127.54.0.1", AdminStateUp: true},
			{Meta: store.Meta{ID: "lb-down"}, VIPAddress: "127.54.0.2", AdminStateUp: false},
		},
		Listeners: []store.Listener{
			{Meta: store.Meta{ID: "tcp"}, LoadBalancerID: "lb", Protocol: "TCP", ProtocolPort: 80, DefaultPoolID: "p1", AdminStateUp: true, KeepaliveTimeout: 60},
			{Meta: store.Meta{ID: "udp"}, LoadBalancerID: "lb", Protocol: "UDP", ProtocolPort: 53, AdminStateUp: true, TransparentClientIPEnable: true},
			{Meta: store.Meta{ID: "http"}, LoadBalancerID: "lb", Protocol: "HTTP", ProtocolPort: 8080, AdminStateUp: true},
			{Meta: store.Meta{ID: "https"}, LoadBalancerID: "lb", Protocol: "HTTPS", ProtocolPort: 443, AdminStateUp: true},
			{Meta: store.Meta{ID: "off"}, LoadBalancerID: "lb", Protocol: "TCP", ProtocolPort: 81, AdminStateUp: false},
			{Meta: store.Meta{ID: "lb-off"}, LoadBalancerID: "lb-down", Protocol: "TCP", ProtocolPort: 80, AdminStateUp: true},
		},
		Pools: []store.Pool{
			{Meta: store.Meta{ID: "p1"}, LBAlgorithm: "SOURCE_IP", AdminStateUp: true},
			{Meta: store.Meta{ID: "p2"}, AdminStateUp: false},
		},
		Members: []store.Member{
			{Meta: store.Meta{ID: "m1"}, PoolID: "p1", Address: "127.54.1.1", ProtocolPort: 8080, Weight: 80, AdminStateUp: true},
			{Meta: store.Meta{ID: "m2"}, PoolID: "p1", Address: "127.54.1.2", ProtocolPort: 8080, Weight: 20, AdminStateUp: false},
			{Meta: store.Meta{ID: "m3"}, PoolID: "p2", Address: "127.54.1.3", ProtocolPort: 8080, Weight: 5, AdminStateUp: true},
		},
		HealthMonitors: []store.HealthMonitor{
			{Meta: store.Meta{ID: "hm1"}, PoolID: "p1", Type: "HTTPS", Delay: 5, Timeout: 3, MaxRetries: 2, AdminStateUp: true},
			{Meta: store.Meta{ID: "hm2"}, PoolID: "p2", Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, AdminStateUp: false},
		},
	}
	cfg, unserved := Translate(snap)
	p1 := &dataplane.Pool{ID: "p1", Algorithm: "SOURCE_IP",
		Members: []dataplane.Member{
			{ID: "m1", Address: "127.54.1.1", Port: 8080, Weight: 80, AdminUp: true},
			{ID: "m2", Address: "127.54.1.2", Port: 8080, Weight: 20, AdminUp: false},
		},
		// HTTPS checks become TCP connects; max_retries_down 0 is the API's default 3.
		Monitor: &health.Monitor{Type: "TCP", Delay: 5 * time.Second, Timeout: 3 * time.Second, MaxRetries: 2, MaxRetriesDown: 3},
	}
	want := dataplane.Config{
		Listeners: []dataplane.Listener{
			{ID: "tcp", VIP: "127.54.0.1", Port: 80, Protocol: "TCP", KeepaliveTimeout: time.Minute, Pool: p1},
			{ID: "udp", VIP: "127.54.0.1", Port: 53, Protocol: "UDP", TransparentClientIP: true},
			{ID: "http", VIP: "127.54.0.1", Port: 8080, Protocol: "TCP"},
		},
		// A pool no listener uses is still health-checked; admin-down pool → admin-down members;
		// admin-down monitor → no monitor.
		Pools: []dataplane.Pool{{ID: "p2", Algorithm: "ROUND_ROBIN", Members: []dataplane.Member{
			{ID: "m3", Address: "127.54.1.3", Port: 8080, Weight: 5, AdminUp: false},
		}}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("Translate:\n got %+v\nwant %+v", cfg, want)
	}
	for _, id := range []string{"https", "off", "lb-off"} {
		if unserved[id] == "" {
			t.Errorf("listener %s should be reported as not served", id)
		}
	}
	if len(unserved) != 3 {
		t.Errorf("unserved = %v, want 3 listeners", unserved)
	}
}
