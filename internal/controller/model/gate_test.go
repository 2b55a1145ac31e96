package model

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// T5: in pass-through mode a Pod waiting only for the readiness gate (endpoint not ready) is a
// member like a ready one, unless it terminates; in node mode it is not (its gate opens at once).
// T2: a terminating endpoint is never wanted.
func TestT5_GatePendingPodsArePassThroughMembers(t *testing.T) {
	s := slice("s", map[string]int32{"web": 8080}, pod{"10.0.0.1", "n1", true}, pod{"10.0.0.2", "n1", false}, pod{"10.0.0.3", "n1", false})
	yes := true
	s.Endpoints[2].Conditions.Terminating = &yes
	pending := map[types.UID]bool{"uid-10.0.0.2": true, "uid-10.0.0.3": true}
	build := func(net PodNetwork) string {
		d, err := Build(Input{Service: service(tcp("web", 80, 8080, 30080)), EndpointSlices: []discoveryv1.EndpointSlice{s},
			Nodes: nodes("n1", "192.168.0.1"), Config: cfg(elbrules.ClassPerformance, iptr(50)), Settings: settings(net), GatePending: pending})
		if err != nil {
			t.Fatal(err)
		}
		return memberList(d.Listeners[0].Members)
	}
	if got, want := build(PodNetworkVPC), "10.0.0.1:8080=25 10.0.0.2:8080=25"; got != want {
		t.Errorf("pass-through members %s, want %s (the ready Pod and the one waiting for its gate, not the terminating one)", got, want)
	}
	if got, want := build(PodNetworkOverlay), "192.168.0.1:30080=50"; got != want {
		t.Errorf("node-mode members %s, want %s (only the ready Pod counts)", got, want)
	}
}
