// Package vpc serves the one VPC API call fleetlb-controller needs: list subnets (the official
// SDK's services/vpc/v2 ListSubnets, GET /v1/{project_id}/subnets), answered from the VPCs in
// elbd's configuration, so that the controller finds each member's subnet by its address
// locally as it does on the real cloud (issue "safe on a real cloud", C7).
//
// IDs: a subnet's ID in elbd's configuration is what the ELB APIs take (subnet_cidr_id,
// vip_subnet_cidr_id in v3; subnet_id, vip_subnet_id in v2). On the real cloud that is the
// subnet's neutron_subnet_id, while the VPC API's own subnet id is another ID (equal to its
// neutron_network_id). So here neutron_subnet_id is the configured ID (today's configurations
// keep working), and id and neutron_network_id are a UUID derived from it: stable, and different,
// so a client that takes the wrong one is caught by elbd's member checks.
package vpc

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// Handler answers GET /v1/{project_id}/subnets for the configured VPCs; the caller has
// authenticated the request.
func Handler(cfg *config.Config) http.Handler {
	return &handler{subnets: subnetsOf(cfg)}
}

// subnet is the wire form of one subnet: the fields of the SDK's services/vpc/v2/model/model_subnet.go
// that elbd can answer truthfully.
type subnet struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	CIDR             string   `json:"cidr"`
	GatewayIP        string   `json:"gateway_ip"`
	IPv6Enable       bool     `json:"ipv6_enable"`
	DHCPEnable       bool     `json:"dhcp_enable"`
	DNSList          []string `json:"dnsList"`
	VPCID            string   `json:"vpc_id"`
	Status           string   `json:"status"` // ACTIVE: attached to the VPC's router
	NeutronNetworkID string   `json:"neutron_network_id"`
	NeutronSubnetID  string   `json:"neutron_subnet_id"`
	Scope            string   `json:"scope"`
}

// networkNamespace derives the VPC API's subnet IDs from the configured ones.
var networkNamespace = uuid.MustParse("6f1c2a4e-1d2b-4f0e-9b5a-6c0f1e2d3a4b")

// NetworkID is the VPC API's id (and neutron_network_id) of the configured subnet subnetID.
func NetworkID(subnetID string) string {
	return uuid.NewSHA1(networkNamespace, []byte(subnetID)).String()
}

func subnetsOf(cfg *config.Config) []subnet {
	var out []subnet
	for _, v := range cfg.VPCs {
		for _, s := range v.Subnets {
			p, err := netip.ParsePrefix(s.CIDR)
			gw := ""
			if err == nil {
				gw = p.Masked().Addr().Next().String() // the first host, as config.AllocateVIP keeps it free
			}
			id := NetworkID(s.ID)
			out = append(out, subnet{
				ID: id, Name: s.ID, CIDR: s.CIDR, GatewayIP: gw, DHCPEnable: true, DNSList: []string{},
				VPCID: v.ID, Status: "ACTIVE", NeutronNetworkID: id, NeutronSubnetID: s.ID, Scope: "center",
			})
		}
	}
	// Pages follow the id order (marker is the last id of a page, model_list_subnets_request.go).
	slices.SortFunc(out, func(a, b subnet) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

type handler struct{ subnets []subnet }

// maxLimit is the largest page the VPC API hands out.
const maxLimit = 2000

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		apierr.Write(w, r, &apierr.Error{Status: http.StatusNotFound, Code: apierr.CodeAPINotExist,
			Msg: "no such API: " + r.Method + " " + r.URL.Path + "; elbd serves only GET /v1/{project_id}/subnets of the VPC API"})
		return
	}
	q := r.URL.Query()
	limit := maxLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			apierr.Write(w, r, apierr.Invalid("limit %q is not a non-negative integer", v))
			return
		}
		if n > 0 && n < maxLimit {
			limit = n
		}
	}
	marker, vpcID := q.Get("marker"), q.Get("vpc_id")
	if marker != "" && !slices.ContainsFunc(h.subnets, func(s subnet) bool { return s.ID == marker }) {
		apierr.Write(w, r, apierr.Invalid("marker %q is not the id of a subnet", marker))
		return
	}
	out := []subnet{}
	for _, s := range h.subnets {
		if marker != "" && s.ID <= marker || vpcID != "" && s.VPCID != vpcID {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, s)
	}
	apierr.WriteJSON(w, http.StatusOK, map[string]any{"subnets": out})
}
