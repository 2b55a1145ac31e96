package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3LoadBalancer is the SDK's model.LoadBalancer as elbd fills it.
type v3LoadBalancer struct {
	ID                   string              `json:"id"`
	Description          string              `json:"description"`
	ProvisioningStatus   string              `json:"provisioning_status"`
	AdminStateUp         bool                `json:"admin_state_up"`
	Provider             string              `json:"provider"`
	Pools                []map[string]string `json:"pools"`
	Listeners            []map[string]string `json:"listeners"`
	OperatingStatus      string              `json:"operating_status"`
	Name                 string              `json:"name"`
	ProjectID            string              `json:"project_id"`
	VipSubnetCidrID      string              `json:"vip_subnet_cidr_id"`
	VipAddress           string              `json:"vip_address"`
	VipPortID            string              `json:"vip_port_id"`
	Tags                 []store.Tag         `json:"tags"`
	CreatedAt            string              `json:"created_at"`
	UpdatedAt            string              `json:"updated_at"`
	Guaranteed           bool                `json:"guaranteed"`
	VpcID                string              `json:"vpc_id"`
	Eips                 []any               `json:"eips"`
	Ipv6VipAddress       string              `json:"ipv6_vip_address"`
	Ipv6VipVirsubnetID   string              `json:"ipv6_vip_virsubnet_id"`
	Ipv6VipPortID        string              `json:"ipv6_vip_port_id"`
	AvailabilityZoneList []string            `json:"availability_zone_list"`
	EnterpriseProjectID  string              `json:"enterprise_project_id"`
	BillingInfo          string              `json:"billing_info"`
	L4FlavorID           string              `json:"l4_flavor_id"`
	L4ScaleFlavorID      string              `json:"l4_scale_flavor_id"`
	L7FlavorID           string              `json:"l7_flavor_id"`
	L7ScaleFlavorID      string              `json:"l7_scale_flavor_id"`
	Publicips            []any               `json:"publicips"`
	GlobalEips           []any               `json:"global_eips"`
	ElbVirsubnetIDs      []string            `json:"elb_virsubnet_ids"`
	ElbVirsubnetType     string              `json:"elb_virsubnet_type"`
	IPTargetEnable       bool                `json:"ip_target_enable"`
	FrozenScene          string              `json:"frozen_scene"`
}

func renderV3LB(lb store.LoadBalancer, listeners, pools []string) v3LoadBalancer {
	return v3LoadBalancer{
		ID: lb.ID, Description: lb.Description, ProvisioningStatus: "ACTIVE", AdminStateUp: lb.AdminStateUp,
		Provider: "vlb", Pools: refs(pools...), Listeners: refs(listeners...), OperatingStatus: "ONLINE",
		Name: lb.Name, ProjectID: lb.ProjectID, VipSubnetCidrID: lb.VIPSubnetID, VipAddress: lb.VIPAddress,
		Tags: append([]store.Tag{}, lb.Tags...), CreatedAt: ts(lb.CreatedAt), UpdatedAt: ts(lb.UpdatedAt), Guaranteed: lb.Guaranteed(),
		VpcID: lb.VPCID, Eips: []any{}, AvailabilityZoneList: append([]string{}, lb.AvailabilityZones...), EnterpriseProjectID: "0",
		Publicips: []any{}, GlobalEips: []any{}, ElbVirsubnetIDs: []string{lb.VIPSubnetID}, ElbVirsubnetType: "ipv4",
		IPTargetEnable: lb.IPTargetEnable,
	}
}

func (h *v3) renderLB(sc store.Scope, lb store.LoadBalancer) (v3LoadBalancer, error) {
	// Read from the store's index (F13); a shared load balancer's are its v2 children (E8).
	ls, ps, err := h.st.LoadBalancerChildren(lb.ID)
	return renderV3LB(lb, ls, ps), err
}

// replyLB answers a call that yields one load balancer: err, or the load balancer with its
// listeners and pools.
func (h *v3) replyLB(r *http.Request, sc store.Scope, status int, lb store.LoadBalancer, err error) (int, any, error) {
	var out v3LoadBalancer
	if err == nil {
		out, err = h.renderLB(sc, lb)
	}
	if err != nil {
		return 0, nil, err
	}
	return replied(r, status, "loadbalancer", out)
}

type v3CreateLB struct {
	wire.Named
	Tags            []store.Tag `json:"tags"`
	VipSubnetCidrID *string     `json:"vip_subnet_cidr_id"`
	VipAddress      *string     `json:"vip_address"`
	Guaranteed      *bool       `json:"guaranteed"`
	IPTargetEnable  *bool       `json:"ip_target_enable"`
	bodyProject
	// AvailabilityZoneList is required by the real API; elbd keeps it for show and list.
	AvailabilityZoneList []string `json:"availability_zone_list"`
}

// bodyProject is the project_id a create body may carry, which may only repeat the URL's.
type bodyProject struct {
	ProjectID *string `json:"project_id"`
}

func (b bodyProject) project() *string { return b.ProjectID }

func checkBodyProject(sc store.Scope, p *string) error {
	if p != nil && *p != "" && *p != sc.ProjectID {
		return apierr.Invalid("project_id %q in the body differs from the project %q of the URL; leave it out", *p, sc.ProjectID)
	}
	return nil
}

func (h *v3) createLoadBalancer(r *http.Request, sc store.Scope, in *v3CreateLB) (int, any, error) {
	if in.Guaranteed != nil && !*in.Guaranteed {
		return 0, nil, apierr.Invalid("guaranteed=false asks for a shared load balancer, which the v2 API (/v2/{project_id}/elb/loadbalancers) creates; leave guaranteed out or true")
	}
	for i, az := range in.AvailabilityZoneList {
		if az == "" {
			return 0, nil, apierr.Invalid("availability_zone_list[%d] is empty; name a zone or leave it out", i)
		}
	}
	nlb := store.LoadBalancer{VIPSubnetID: wire.Or(in.VipSubnetCidrID, ""), VIPAddress: wire.Or(in.VipAddress, ""),
		IPTargetEnable: wire.Or(in.IPTargetEnable, false), AdminStateUp: true, AvailabilityZones: in.AvailabilityZoneList, Tags: in.Tags}
	in.Named.Apply(&nlb.Name, &nlb.Description, &nlb.AdminStateUp)
	lb, err := h.st.CreateLoadBalancer(sc, nlb)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"loadbalancer": renderV3LB(lb, nil, nil), "loadbalancer_id": lb.ID, "request_id": apierr.RequestID(r),
	}, nil
}

func (h *v3) listLoadBalancers(r *http.Request, sc store.Scope) (int, any, error) {
	// The v3 list includes the project's shared load balancers, guaranteed=false (E8).
	lbs, err := h.st.LoadBalancersSeenFromV3(sc)
	if err != nil {
		return 0, nil, err
	}
	ls, ps := map[string][]string{}, map[string][]string{}
	for _, fam := range []store.Family{store.FamilyV3, store.FamilyV2} {
		fsc := store.Scope{Family: fam, ProjectID: sc.ProjectID}
		listeners, err := h.st.ListListeners(fsc)
		if err != nil {
			return 0, nil, err
		}
		pools, err := h.st.ListPools(fsc)
		if err != nil {
			return 0, nil, err
		}
		for _, l := range listeners {
			ls[l.LoadBalancerID] = append(ls[l.LoadBalancerID], l.ID)
		}
		for _, p := range pools {
			ps[p.LoadBalancerID] = append(ps[p.LoadBalancerID], p.ID)
		}
	}
	type LB = store.LoadBalancer
	filters := []filter[LB]{
		strF("id", func(v LB) string { return v.ID }),
		strF("name", func(v LB) string { return v.Name }),
		strF("description", func(v LB) string { return v.Description }),
		boolF("admin_state_up", func(v LB) bool { return v.AdminStateUp }),
		boolF("guaranteed", func(v LB) bool { return v.Guaranteed() }),
		strF("provisioning_status", func(LB) string { return "ACTIVE" }),
		strF("operating_status", func(LB) string { return "ONLINE" }),
		strF("vpc_id", func(v LB) string { return v.VPCID }),
		strF("vip_address", func(v LB) string { return v.VIPAddress }),
		strF("vip_subnet_cidr_id", func(v LB) string { return v.VIPSubnetID }),
		strF("enterprise_project_id", func(LB) string { return "0" }),
		strsF("member_address", h.lbMemberAddresses(sc)),
		intF("ip_version", func(LB) int { return 4 }),
		boolF("deletion_protection_enable", func(LB) bool { return false }),
		strF("elb_virsubnet_type", func(LB) string { return "ipv4" }),
		strF("protection_status", func(LB) string { return "nonProtection" }),
		strsF("availability_zone_list", func(v LB) []string { return v.AvailabilityZones }),
	}
	filters = append(filters, absent[LB]("vip_port_id", "ipv6_vip_port_id", "ipv6_vip_address", "ipv6_vip_virsubnet_id",
		"eips", "publicips", "global_eips", "l4_flavor_id", "l4_scale_flavor_id", "l7_flavor_id",
		"l7_scale_flavor_id", "billing_info", "member_device_id", "log_topic_id", "log_group_id")...)
	return listed(r, "loadbalancers", lbs, filters, func(v LB) string { return v.ID },
		func(v LB) v3LoadBalancer { return renderV3LB(v, ls[v.ID], ps[v.ID]) })
}

// lbMemberAddresses maps a load balancer to its members' addresses, for ?member_address=.
func (h *v3) lbMemberAddresses(sc store.Scope) func(store.LoadBalancer) []string {
	var byLB map[string][]string
	return func(lb store.LoadBalancer) []string {
		if byLB == nil {
			byLB = map[string][]string{}
			for _, fam := range []store.Family{store.FamilyV3, store.FamilyV2} {
				ms, _ := h.st.ListAllMembers(store.Scope{Family: fam, ProjectID: sc.ProjectID})
				for _, m := range ms {
					byLB[m.LoadBalancerID] = append(byLB[m.LoadBalancerID], m.Address)
				}
			}
		}
		return byLB[lb.ID]
	}
}

type v3UpdateLB struct {
	wire.Named
	IPTargetEnable  *bool   `json:"ip_target_enable"`
	VipSubnetCidrID *string `json:"vip_subnet_cidr_id"`
	VipAddress      *string `json:"vip_address"`
}

func (h *v3) updateLoadBalancer(r *http.Request, sc store.Scope, in *v3UpdateLB) (int, any, error) {
	lb, err := h.st.UpdateLoadBalancer(sc, r.PathValue("id"), func(lb *store.LoadBalancer) error {
		if in.VipSubnetCidrID != nil && *in.VipSubnetCidrID != lb.VIPSubnetID {
			return apierr.Invalid("vip_subnet_cidr_id cannot be changed (it is %s); create a new load balancer in the other subnet", lb.VIPSubnetID)
		}
		if in.VipAddress != nil && *in.VipAddress != lb.VIPAddress {
			return apierr.Invalid("vip_address cannot be changed (it is %s)", lb.VIPAddress)
		}
		in.Named.Apply(&lb.Name, &lb.Description, &lb.AdminStateUp)
		lb.IPTargetEnable = wire.Or(in.IPTargetEnable, lb.IPTargetEnable)
		return nil
	})
	return h.replyLB(r, sc, http.StatusOK, lb, err)
}
