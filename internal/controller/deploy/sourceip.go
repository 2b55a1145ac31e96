package deploy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// WarnSourceIPShares: the pool balances by SOURCE_IP, which ignores member weights other than 0
// (issue "safe on a real cloud", C10).
const WarnSourceIPShares = "WeightIgnoredBySourceIP"

// algorithmSourceIP hashes each source address onto one member with a non-zero weight, all such
// members alike (services/elb/v3/model/model_create_pool_option.go lb_algorithm, 约束限制: "当该字段
// 的取值为SOURCE_IP或QUIC_CID时，后端服务器组绑定的后端服务器的weight字段无效"; weight 0 still takes
// the member out, as elbd's E6a does).
const algorithmSourceIP = "SOURCE_IP"

// sourceIPWarning tells a Service whose port lands on a SOURCE_IP pool that its share follows
// member counts, not weights, and what the shares will be: each member with a non-zero weight
// gets an equal part of the source addresses. what names the listener; have is the pool as read
// before this Apply's member writes; want is this cluster's members of the port. nil when the
// pool is not SOURCE_IP or this cluster asks for no traffic (all weights 0, which the ELB honours).
func sourceIPWarning(what, algorithm string, ref model.ServiceRef, weight int, want model.Listener, have []elbclient.Member) *Warning {
	if !strings.EqualFold(algorithm, algorithmSourceIP) {
		return nil
	}
	ours := 0
	for _, m := range want.Members {
		if m.Weight > 0 {
			ours++
		}
	}
	if ours == 0 {
		return nil
	}
	others := map[string]int{} // owner → members with a non-zero weight
	for _, m := range have {
		if m.Weight <= 0 || owns(ref, m) {
			continue
		}
		owner := "members without a fleetlb name (VMs, made by hand)"
		if r, _, ok := ownership.ParseMemberName(m.Name); ok {
			owner = "cluster " + r.ClusterID
		}
		others[owner]++
	}
	total := ours
	for _, n := range others {
		total += n
	}
	share := func(n int) string {
		return fmt.Sprintf("%d of %d members, %.1f%%", n, total, 100*float64(n)/float64(total))
	}
	parts := []string{"this cluster: " + share(ours)}
	owners := make([]string, 0, len(others))
	for o := range others {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	for _, o := range owners {
		parts = append(parts, o+": "+share(others[o]))
	}
	return &Warning{Reason: WarnSourceIPShares, Message: fmt.Sprintf(
		"%s balances by SOURCE_IP: the ELB ignores member weights other than 0 and gives each member with a non-zero weight an equal part of the source addresses, so this cluster's weight %d is not applied and shares follow member counts — %s; for weighted shares the pool needs ROUND_ROBIN or LEAST_CONNECTIONS (%s)",
		what, weight, strings.Join(parts, "; "), model.AnnotationAlgorithm)}
}
