package elbclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	vpcv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"
	vpcmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"
)

// Subnet is one subnet of a VPC as the VPC API lists it (services/vpc/v2/model/model_subnet.go).
type Subnet struct {
	// ID is the VPC API's subnet id.
	ID string
	// NeutronSubnetID is the IPv4 subnet's ID in the ELB APIs: a member's subnet_cidr_id (v3) or
	// subnet_id (v2) takes this one, not ID.
	NeutronSubnetID string
	CIDR            string
	VPCID           string
}

// VPCEndpoint is the VPC API's URL for the ELB API's: on the real cloud the host
// elb.<region>.myhuaweicloud.com has its VPC sibling vpc.<region>.myhuaweicloud.com; any other
// host (elbd) serves both.
func VPCEndpoint(elbEndpoint string) string {
	u, err := url.Parse(elbEndpoint)
	if err != nil {
		return elbEndpoint
	}
	if rest, ok := strings.CutPrefix(u.Host, "elb."); ok {
		u.Host = "vpc." + rest
	}
	return strings.TrimRight(u.String(), "/")
}

func newVPCClient(cfg Config, httpCfg *config.HttpConfig) (*vpcv2.VpcClient, error) {
	endpoint := cfg.VPCEndpoint
	if endpoint == "" {
		endpoint = VPCEndpoint(cfg.Endpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("VPC endpoint %q is not an http(s) URL such as https://vpc.cn-north-4.myhuaweicloud.com", endpoint)
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AK).WithSk(cfg.SK).WithProjectId(cfg.ProjectID).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("VPC credentials: %w", err)
	}
	reg := cfg.Region
	if reg == "" {
		reg = "local"
	}
	h, err := vpcv2.VpcClientBuilder().WithRegion(region.NewRegion(reg, strings.TrimRight(endpoint, "/"))).
		WithCredential(cred).WithHttpConfig(httpCfg).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("VPC v2 client: %w", err)
	}
	return vpcv2.NewVpcClient(h), nil
}

// ListSubnets lists the subnets of VPC vpcID ("" lists all the project's), through the rate
// limiter and with the repeats of every read (C7).
func (c *SDK) ListSubnets(ctx context.Context, vpcID string) ([]Subnet, error) {
	var filter *string
	if vpcID != "" {
		filter = &vpcID
	}
	return list(ctx, c, false, "VPC ListSubnets", c.vpc.ListSubnets, func(marker *string) *vpcmodel.ListSubnetsRequest {
		return &vpcmodel.ListSubnetsRequest{VpcId: filter, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *vpcmodel.ListSubnetsResponse) ([]vpcmodel.Subnet, *string) { return deref(r.Subnets), nil },
		func(s vpcmodel.Subnet) string { return s.Id }, func(s vpcmodel.Subnet) Subnet {
			return Subnet{ID: s.Id, NeutronSubnetID: s.NeutronSubnetId, CIDR: s.Cidr, VPCID: s.VpcId}
		})
}
