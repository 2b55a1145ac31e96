package main

import (
	"strings"

	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

var (
	poolListFields = []string{"id", "name", "protocol", "lb_algorithm", "type", "listeners", "loadbalancers", "healthmonitor_id"}
	poolShowFields = []string{"id", "name", "description", "protocol", "lb_algorithm", "type", "listeners", "loadbalancers",
		"members", "healthmonitor_id"}
)

func newPoolCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pool", Aliases: []string{"pools"}, Short: "Manage backend server groups (pools)"}
	cmd.AddCommand(poolCreateCmd(g), poolListCmd(g), poolShowCmd(g), poolDeleteCmd(g))
	return cmd
}

func poolCreateCmd(g *globals) *cobra.Command {
	var listener, lb, algorithm, protocol, name, desc, poolType, vpcID string
	cmd := &cobra.Command{
		Use:   "create (--listener L | --lb LB) --protocol TCP|UDP [--algorithm ROUND_ROBIN] [--name N] [--type ip|instance]",
		Short: "Create a pool; with --listener it becomes that listener's default pool",
		Args:  cobra.NoArgs,
	}
	check := func(cmd *cobra.Command, _ []string) (err error) {
		if err = requireFlags(cmd, "protocol"); err != nil {
			return err
		}
		if !cmd.Flags().Changed("listener") && !cmd.Flags().Changed("lb") {
			return requireOneOf(cmd, "listener", "lb")
		}
		if protocol, err = oneOf("protocol", protocol, "TCP", "UDP", "HTTP"); err != nil {
			return err
		}
		if algorithm, err = oneOf("algorithm", algorithm, elbrules.Algorithms...); err != nil {
			return err
		}
		return g.v3Only(cmd, "type", "vpc-id")
	}
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(poolShowFields).of(c.CreatePool(&m2.CreatePoolRequest{Body: &m2.CreatePoolRequestBody{Pool: &m2.CreatePoolReq{
				Protocol: enum[m2.CreatePoolReqProtocol](protocol), LbAlgorithm: algorithm,
				ListenerId: ifSet(cmd, "listener", listener), LoadbalancerId: ifSet(cmd, "lb", lb),
				Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc)}}}))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			return view(poolShowFields).of(c.CreatePool(&m3.CreatePoolRequest{Body: &m3.CreatePoolRequestBody{Pool: &m3.CreatePoolOption{
				Protocol: protocol, LbAlgorithm: algorithm,
				ListenerId: ifSet(cmd, "listener", listener), LoadbalancerId: ifSet(cmd, "lb", lb),
				Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc), Type: ifSet(cmd, "type", poolType),
				VpcId: ifSet(cmd, "vpc-id", vpcID)}}}))
		})
	f := cmd.Flags()
	f.StringVar(&listener, "listener", "", "listener whose default pool this becomes")
	f.StringVar(&lb, "lb", "", "load balancer (when not bound to a listener yet)")
	f.StringVar(&algorithm, "algorithm", elbrules.AlgorithmRoundRobin, strings.Join(elbrules.Algorithms, ", "))
	f.StringVar(&protocol, "protocol", "", "TCP or UDP; must match the listener's")
	f.StringVar(&name, "name", "", "name")
	f.StringVar(&desc, "description", "", "description")
	f.StringVar(&poolType, "type", "", "ip (IP-type members only), instance (subnet members only) or empty for both (v3 only)")
	f.StringVar(&vpcID, "vpc-id", "", "VPC of the load balancer; required with --type instance, refused with --type ip (v3 only)")
	return cmd
}

func poolListCmd(g *globals) *cobra.Command {
	return g.listCmd(&cobra.Command{Use: "list [--lb LB] [--listener L]", Short: "List pools", Args: cobra.NoArgs},
		func(cmd *cobra.Command, _ []string) error { return g.v3Only(cmd, "listener") },
		[]filter{{"lb", "LoadbalancerId", "only pools of this load balancer"}, {"listener", "ListenerId", "only pools of this listener (v3 only)"}},
		poolListFields, listBy((*elbv2.ElbClient).ListPools), poolListFields, listBy((*elbv3.ElbClient).ListPools))
}

func poolShowCmd(g *globals) *cobra.Command {
	return g.showCmd(&cobra.Command{Use: "show ID", Short: "Show one pool", Args: cobra.ExactArgs(1)}, nil,
		poolShowFields, byID((*elbv2.ElbClient).ShowPool), poolShowFields, byID((*elbv3.ElbClient).ShowPool))
}

func poolDeleteCmd(g *globals) *cobra.Command {
	return g.deleteCmd(&cobra.Command{Use: "delete ID", Short: "Delete a pool (refused while it has members or a health monitor)", Args: cobra.ExactArgs(1)}, nil, "pool",
		byID((*elbv2.ElbClient).DeletePool), byID((*elbv3.ElbClient).DeletePool))
}
