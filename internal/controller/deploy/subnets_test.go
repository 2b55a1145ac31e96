package deploy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// C7 at the deployer: members without a subnet get the one their address is in (VPC API through
// the SDK); without a way to find it, a dedicated ELB refuses rather than make IP-type members.
func TestC7MembersPlacedByAddress(t *testing.T) {
	e, lbID, c := startDedicated(t)
	w := want(clusterA, lbID, 80, nodes(10, 2, 80))
	for i := range w.Listeners[0].Members {
		w.Listeners[0].Members[i].SubnetID = ""
	}

	before := e.Writes.Load()
	_, err := deploy.New(c, deploy.Options{}).Apply(context.Background(), w)
	var r *deploy.Refusal
	if !errors.As(err, &r) || r.Reason != deploy.ReasonMemberSubnet || e.Writes.Load() != before {
		t.Fatalf("without a subnet lister: %v (writes %d)", err, e.Writes.Load()-before)
	}

	d := deploy.New(c, deploy.Options{Subnets: c})
	apply(t, d, w)
	_, ms := pool(t, c, lbID, 80)
	if len(ms) != 2 || ms[0].SubnetID != "subnet-a1" || ms[1].SubnetID != "subnet-a1" {
		t.Fatalf("members %+v, want both in subnet-a1 (their addresses')", ms)
	}
	if res := apply(t, d, w); res.Writes != 0 {
		t.Errorf("a no-op apply wrote %d times", res.Writes)
	}
	// An address in another VPC's subnet is not in the ELB's VPC: refused, nothing written.
	w.Listeners[0].Members = append(w.Listeners[0].Members, model.Member{Address: "127.20.1.5", Port: 30080, Weight: 10})
	before = e.Writes.Load()
	if _, err := d.Apply(context.Background(), w); !errors.As(err, &r) || r.Reason != deploy.ReasonMemberSubnet || e.Writes.Load() != before {
		t.Fatalf("address outside the ELB's VPC: %v", err)
	}
}
