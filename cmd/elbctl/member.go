package main

import (
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"
)

var (
	memberListFieldsV3 = []string{"id", "name", "address", "protocol_port", "weight", "subnet_cidr_id", "member_type", "operating_status"}
	memberShowFieldsV3 = []string{"id", "name", "address", "protocol_port", "weight", "subnet_cidr_id", "member_type",
		"admin_state_up", "operating_status", "pool_id", "created_at", "updated_at"}
	memberListFieldsV2 = []string{"id", "name", "address", "protocol_port", "weight", "subnet_id", "operating_status"}
	memberShowFieldsV2 = []string{"id", "name", "address", "protocol_port", "weight", "subnet_id", "admin_state_up", "operating_status"}
)

func newMemberCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "member", Aliases: []string{"members"}, Short: "Manage the backend servers (members) of a pool"}
	var pool string
	cmd.PersistentFlags().StringVar(&pool, "pool", "", "pool ID (required)")
	cmd.AddCommand(memberAddCmd(g, &pool), memberListCmd(g), memberShowCmd(g, &pool), memberUpdateCmd(g, &pool), memberDeleteCmd(g, &pool))
	return cmd
}

func needPool() func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "pool") }
}

func memberAddCmd(g *globals, pool *string) *cobra.Command {
	var address, subnet, name string
	var port, weight int32
	cmd := &cobra.Command{
		Use:     "add --pool POOL --address IP --port PORT [--weight 1] [--subnet-id SUBNET] [--name N]",
		Aliases: []string{"create"},
		Short:   "Add a backend server; without --subnet-id it is an IP-type member (v3, IP-type LBs only)",
		Args:    cobra.NoArgs,
	}
	check := func(cmd *cobra.Command, _ []string) error {
		flags := []string{"pool", "address", "port"}
		if g.family == familyV2 {
			flags = append(flags, "subnet-id") // shared load balancers have no IP-type members
		}
		if err := requireFlags(cmd, flags...); err != nil {
			return err
		}
		if err := checkPort("port", port); err != nil {
			return err
		}
		return checkWeight(weight)
	}
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(memberShowFieldsV2).of(c.CreateMember(&m2.CreateMemberRequest{PoolId: *pool, Body: &m2.CreateMemberRequestBody{Member: &m2.CreateMemberReq{
				Address: address, ProtocolPort: port, SubnetId: subnet, Weight: ifSet(cmd, "weight", weight), Name: ifSet(cmd, "name", name)}}}))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			resp, err := c.CreateMember(&m3.CreateMemberRequest{PoolId: *pool, Body: &m3.CreateMemberRequestBody{Member: &m3.CreateMemberOption{
				Address: address, ProtocolPort: &port, SubnetCidrId: ifSet(cmd, "subnet-id", subnet),
				Weight: ifSet(cmd, "weight", weight), Name: ifSet(cmd, "name", name)}}})
			if err != nil {
				return result{}, err
			}
			v, err := inPool(resp.Member, *pool)
			return result{v, memberShowFieldsV3}, err
		})
	f := cmd.Flags()
	f.StringVar(&address, "address", "", "backend IP address")
	f.Int32Var(&port, "port", 0, "backend port, 1-65535")
	f.Int32Var(&weight, "weight", 1, "weight 0-100; 0 takes no new traffic")
	f.StringVar(&subnet, "subnet-id", "", "subnet the address is in (omit for an IP-type member)")
	f.StringVar(&name, "name", "", "name")
	return cmd
}

func memberListCmd(g *globals) *cobra.Command {
	return g.listCmd(&cobra.Command{Use: "list --pool POOL", Short: "List the members of a pool", Args: cobra.NoArgs}, needPool(),
		[]filter{{"pool", "PoolId", ""}},
		memberListFieldsV2, listBy((*elbv2.ElbClient).ListMembers), memberListFieldsV3, listBy((*elbv3.ElbClient).ListMembers))
}

func memberShowCmd(g *globals, pool *string) *cobra.Command {
	return g.showCmd(&cobra.Command{Use: "show --pool POOL ID", Short: "Show one member", Args: cobra.ExactArgs(1)}, needPool(),
		memberShowFieldsV2, byID((*elbv2.ElbClient).ShowMember, pool),
		memberShowFieldsV3, func(c *elbv3.ElbClient, id string) (any, error) {
			resp, err := c.ShowMember(&m3.ShowMemberRequest{PoolId: *pool, MemberId: id})
			if err != nil {
				return nil, err
			}
			return inPool(resp.Member, *pool)
		})
}

func memberUpdateCmd(g *globals, pool *string) *cobra.Command {
	var name string
	var weight int32
	cmd := &cobra.Command{Use: "update --pool POOL ID [--weight W] [--name N]", Short: "Change a member's weight or name", Args: cobra.ExactArgs(1)}
	check := func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "pool"); err != nil {
			return err
		}
		if err := requireOneOf(cmd, "weight", "name"); err != nil {
			return err
		}
		return checkWeight(weight)
	}
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, args []string, c *elbv2.ElbClient) (result, error) {
			return view(memberShowFieldsV2).of(c.UpdateMember(&m2.UpdateMemberRequest{PoolId: *pool, MemberId: args[0], Body: &m2.UpdateMemberRequestBody{
				Member: &m2.UpdateMemberReq{Weight: ifSet(cmd, "weight", weight), Name: ifSet(cmd, "name", name)}}}))
		},
		func(cmd *cobra.Command, args []string, c *elbv3.ElbClient) (result, error) {
			resp, err := c.UpdateMember(&m3.UpdateMemberRequest{PoolId: *pool, MemberId: args[0], Body: &m3.UpdateMemberRequestBody{
				Member: &m3.UpdateMemberOption{Weight: ifSet(cmd, "weight", weight), Name: ifSet(cmd, "name", name)}}})
			if err != nil {
				return result{}, err
			}
			v, err := inPool(resp.Member, *pool)
			return result{v, memberShowFieldsV3}, err
		})
	cmd.Flags().Int32Var(&weight, "weight", 1, "new weight 0-100")
	cmd.Flags().StringVar(&name, "name", "", "new name")
	return cmd
}

func memberDeleteCmd(g *globals, pool *string) *cobra.Command {
	return g.deleteCmd(&cobra.Command{Use: "delete --pool POOL ID", Aliases: []string{"remove"}, Short: "Remove a member from its pool", Args: cobra.ExactArgs(1)}, needPool(), "member",
		byID((*elbv2.ElbClient).DeleteMember, pool), byID((*elbv3.ElbClient).DeleteMember, pool))
}

// inPool is a v3 member reply with its pool_id: the SDK's Member has no such field (the API
// leaves it out of single-member replies), but the operator named the pool and should see it.
func inPool(m *m3.Member, pool string) (any, error) {
	v, err := toGeneric(m)
	if obj, ok := v.(map[string]any); ok {
		obj["pool_id"] = pool
	}
	return v, err
}
