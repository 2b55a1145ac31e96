package main

import (
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"
)

var (
	lbListFieldsV3 = []string{"id", "name", "vip_address", "vip_subnet_cidr_id", "ip_target_enable", "guaranteed", "provisioning_status"}
	lbShowFieldsV3 = []string{"id", "name", "description", "vip_address", "vip_subnet_cidr_id", "vpc_id", "ip_target_enable",
		"guaranteed", "listeners", "pools", "provisioning_status", "operating_status", "created_at", "updated_at"}
	lbListFieldsV2 = []string{"id", "name", "vip_address", "vip_subnet_id", "provisioning_status"}
	lbShowFieldsV2 = []string{"id", "name", "description", "vip_address", "vip_subnet_id", "listeners", "pools",
		"provisioning_status", "operating_status", "created_at", "updated_at"}
)

func newLoadBalancerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "loadbalancer", Aliases: []string{"lb", "loadbalancers"}, Short: "Manage load balancers"}
	cmd.AddCommand(lbCreateCmd(g), lbListCmd(g), lbShowCmd(g), lbUpdateCmd(g), lbDeleteCmd(g), lbStatusCmd(g))
	return cmd
}

func lbCreateCmd(g *globals) *cobra.Command {
	var name, desc, subnet, vip string
	var ipTarget bool
	var zones []string
	cmd := &cobra.Command{
		Use:   "create --vip-subnet-id SUBNET [--name N] [--vip-address IP] [--ip-target-enable]",
		Short: "Create a load balancer; its VIP comes from the subnet",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = g.dispatch(
		func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "vip-subnet-id"); err != nil {
				return err
			}
			return g.v3Only(cmd, "ip-target-enable", "availability-zone")
		},
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(lbShowFieldsV2).of(c.CreateLoadbalancer(&m2.CreateLoadbalancerRequest{Body: &m2.CreateLoadbalancerRequestBody{
				Loadbalancer: &m2.CreateLoadbalancerReq{Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc),
					VipSubnetId: subnet, VipAddress: ifSet(cmd, "vip-address", vip)}}}))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			if zones == nil {
				zones = []string{}
			}
			return view(lbShowFieldsV3).of(c.CreateLoadBalancer(&m3.CreateLoadBalancerRequest{Body: &m3.CreateLoadBalancerRequestBody{
				Loadbalancer: &m3.CreateLoadBalancerOption{Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc),
					VipSubnetCidrId: &subnet, VipAddress: ifSet(cmd, "vip-address", vip),
					IpTargetEnable: ifSet(cmd, "ip-target-enable", ipTarget), AvailabilityZoneList: zones}}}))
		})
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name")
	f.StringVar(&desc, "description", "", "description")
	f.StringVar(&subnet, "vip-subnet-id", "", "subnet the VIP is taken from (v3: vip_subnet_cidr_id, v2: vip_subnet_id)")
	f.StringVar(&vip, "vip-address", "", "VIP address (default: a free address of the subnet)")
	f.BoolVar(&ipTarget, "ip-target-enable", false, "allow IP-type (cross-VPC) backends (v3 only)")
	f.StringSliceVar(&zones, "availability-zone", nil, "availability zones (v3 only; repeat or comma-separate)")
	return cmd
}

func lbListCmd(g *globals) *cobra.Command {
	return g.listCmd(&cobra.Command{Use: "list [--name N]", Short: "List load balancers", Args: cobra.NoArgs}, nil,
		[]filter{{"name", "Name", "only load balancers with this name"}},
		lbListFieldsV2, listBy((*elbv2.ElbClient).ListLoadbalancers), lbListFieldsV3, listBy((*elbv3.ElbClient).ListLoadBalancers))
}

func lbShowCmd(g *globals) *cobra.Command {
	return g.showCmd(&cobra.Command{Use: "show ID", Short: "Show one load balancer", Args: cobra.ExactArgs(1)}, nil,
		lbShowFieldsV2, byID((*elbv2.ElbClient).ShowLoadbalancer), lbShowFieldsV3, byID((*elbv3.ElbClient).ShowLoadBalancer))
}

func lbUpdateCmd(g *globals) *cobra.Command {
	var name, desc string
	var ipTarget bool
	cmd := &cobra.Command{
		Use:   "update ID [--name N] [--description D] [--ip-target-enable=true|false]",
		Short: "Rename a load balancer or switch IP-type backends on or off",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = g.dispatch(
		func(cmd *cobra.Command, _ []string) error {
			if err := requireOneOf(cmd, "name", "description", "ip-target-enable"); err != nil {
				return err
			}
			return g.v3Only(cmd, "ip-target-enable")
		},
		func(cmd *cobra.Command, args []string, c *elbv2.ElbClient) (result, error) {
			return view(lbShowFieldsV2).of(c.UpdateLoadbalancer(&m2.UpdateLoadbalancerRequest{LoadbalancerId: args[0], Body: &m2.UpdateLoadbalancerRequestBody{
				Loadbalancer: &m2.UpdateLoadbalancerReq{Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc)}}}))
		},
		func(cmd *cobra.Command, args []string, c *elbv3.ElbClient) (result, error) {
			return view(lbShowFieldsV3).of(c.UpdateLoadBalancer(&m3.UpdateLoadBalancerRequest{LoadbalancerId: args[0], Body: &m3.UpdateLoadBalancerRequestBody{
				Loadbalancer: &m3.UpdateLoadBalancerOption{Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc),
					IpTargetEnable: ifSet(cmd, "ip-target-enable", ipTarget)}}}))
		})
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&desc, "description", "", "new description")
	cmd.Flags().BoolVar(&ipTarget, "ip-target-enable", false, "allow IP-type (cross-VPC) backends (v3 only)")
	return cmd
}

func lbDeleteCmd(g *globals) *cobra.Command {
	return g.deleteCmd(&cobra.Command{Use: "delete ID", Short: "Delete a load balancer (refused while it has listeners or pools)", Args: cobra.ExactArgs(1)}, nil, "load balancer",
		byID((*elbv2.ElbClient).DeleteLoadbalancer), byID((*elbv3.ElbClient).DeleteLoadBalancer))
}

func lbStatusCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "status ID", Short: "Show a load balancer's listeners, pools and members with their operating status", Args: cobra.ExactArgs(1)}
	cmd.RunE = g.dispatch(nil,
		func(_ *cobra.Command, args []string, c *elbv2.ElbClient) (result, error) {
			resp, err := c.ShowLoadbalancersStatus(&m2.ShowLoadbalancersStatusRequest{LoadbalancerId: args[0]})
			if err != nil || resp.Statuses == nil {
				return result{}, err
			}
			return result{statusTree{resp.Statuses.Loadbalancer}, nil}, nil
		},
		func(_ *cobra.Command, args []string, c *elbv3.ElbClient) (result, error) {
			resp, err := c.ShowLoadBalancerStatus(&m3.ShowLoadBalancerStatusRequest{LoadbalancerId: args[0]})
			if err != nil || resp.Statuses == nil {
				return result{}, err
			}
			return result{statusTree{resp.Statuses.Loadbalancer}, nil}, nil
		})
	return cmd
}
