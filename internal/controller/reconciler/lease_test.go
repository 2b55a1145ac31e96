package reconciler

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// C8 with C12: controllers of different --load-balancer-class in one cluster each elect their own
// leader; one Lease for all would leave every class but the first waiting forever.
func TestLeaseNamePerClass(t *testing.T) {
	if got := LeaseNameFor(""); got != "fleetlb-controller.fleetlb.io" {
		t.Errorf("without a class: %q, want the documented fleetlb-controller.fleetlb.io", got)
	}
	seen := map[string]string{}
	for _, class := range []string{"", LoadBalancerClass, "quota.test/elb", "quota.test-elb", "Example.com/LB_1", "///", "a.-/b", "x/.y"} {
		name := LeaseNameFor(class)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("class %q: lease name %q is not a valid object name: %v", class, name, errs)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("classes %q and %q share the lease %q", other, class, name)
		}
		seen[name] = class
	}
}
