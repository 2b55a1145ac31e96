package main

import (
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/fleetview"
)

var (
	listenerListFields = []string{"id", "name", "protocol", "protocol_port", "loadbalancers", "default_pool_id"}
	listenerShowFields = []string{"id", "name", "description", "protocol", "protocol_port", "loadbalancers",
		"default_pool_id", "keepalive_timeout", "connection_limit", "created_at", "updated_at"}
)

func newListenerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "listener", Aliases: []string{"listeners"}, Short: "Manage listeners (protocol and port of a load balancer)"}
	cmd.AddCommand(listenerCreateCmd(g), listenerListCmd(g), listenerShowCmd(g), listenerDeleteCmd(g))
	return cmd
}

func listenerCreateCmd(g *globals) *cobra.Command {
	var lb, protocol, name, desc, pool string
	var port, keepalive int32
	cmd := &cobra.Command{
		Use:   "create --lb LB --protocol TCP|UDP --port PORT [--name N] [--default-pool POOL]",
		Short: "Create a listener",
		Args:  cobra.NoArgs,
	}
	check := func(cmd *cobra.Command, _ []string) (err error) {
		if err = requireFlags(cmd, "lb", "protocol", "port"); err != nil {
			return err
		}
		if protocol, err = oneOf("protocol", protocol, "TCP", "UDP", "HTTP"); err != nil {
			return err
		}
		if err = checkPort("port", port); err != nil {
			return err
		}
		return g.v3Only(cmd, "keepalive-timeout")
	}
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(listenerShowFields).of(c.CreateListener(&m2.CreateListenerRequest{Body: &m2.CreateListenerRequestBody{Listener: &m2.CreateListenerReq{
				LoadbalancerId: lb, Protocol: enum[m2.CreateListenerReqProtocol](protocol), ProtocolPort: port,
				Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc), DefaultPoolId: ifSet(cmd, "default-pool", pool)}}}))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			return view(listenerShowFields).of(c.CreateListener(&m3.CreateListenerRequest{Body: &m3.CreateListenerRequestBody{Listener: &m3.CreateListenerOption{
				LoadbalancerId: lb, Protocol: protocol, ProtocolPort: &port,
				Name: ifSet(cmd, "name", name), Description: ifSet(cmd, "description", desc), DefaultPoolId: ifSet(cmd, "default-pool", pool),
				KeepaliveTimeout: ifSet(cmd, "keepalive-timeout", keepalive)}}}))
		})
	f := cmd.Flags()
	f.StringVar(&lb, "lb", "", "load balancer ID")
	f.StringVar(&protocol, "protocol", "", "TCP or UDP (HTTP accepted by the API but not forwarded by elbd)")
	f.Int32Var(&port, "port", 0, "port the listener accepts traffic on, 1-65535")
	f.StringVar(&name, "name", "", "name")
	f.StringVar(&desc, "description", "", "description")
	f.StringVar(&pool, "default-pool", "", "pool that receives the traffic (or bind it later with pool create --listener)")
	f.Int32Var(&keepalive, "keepalive-timeout", 0, "idle timeout in seconds (v3 only)")
	return cmd
}

func listenerListCmd(g *globals) *cobra.Command {
	return g.listCmd(&cobra.Command{Use: "list [--lb LB]", Short: "List listeners", Args: cobra.NoArgs}, nil,
		[]filter{{"lb", "LoadbalancerId", "only listeners of this load balancer"}},
		listenerListFields, listBy((*elbv2.ElbClient).ListListeners), listenerListFields, listBy((*elbv3.ElbClient).ListListeners))
}

func listenerShowCmd(g *globals) *cobra.Command {
	var ref listenerRef
	cmd := &cobra.Command{
		Use:   "show (ID | --lb LB --port PORT)",
		Short: "Show one listener and who is behind it: its pool's members by owner (cluster ID, or manual)",
		Long: `Show one listener's fields, then its default pool's members grouped by owner: each cluster
by the ID in its members' names (fleetlb/<cluster-id>/...), "manual" for members added by hand.
Per owner: members, requested weight, effective weight (serving members: weight > 0, not
OFFLINE), expected share of new connections (effective / total) and health.`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := ref.check(cmd, args); err != nil {
			return err
		}
		f, err := g.fetchFleet(ref)
		if err != nil {
			return err
		}
		return g.printFleet(cmd, f, f.view(nil))
	}
	ref.addFlags(cmd)
	return cmd
}

// printFleet prints a listener with its owners: the listener's table and the owners' table, or
// one object (-o json/yaml).
func (g *globals) printFleet(cmd *cobra.Command, f fleet, v fleetview.View) error {
	if g.output != outputTable {
		out, err := fleetOutput(f, v)
		if err != nil {
			return err
		}
		return g.print(cmd, out, nil)
	}
	if err := g.print(cmd, f.listener, listenerShowFields); err != nil {
		return err
	}
	return writeFleet(cmd.OutOrStdout(), f, v)
}

func listenerDeleteCmd(g *globals) *cobra.Command {
	return g.deleteCmd(&cobra.Command{Use: "delete ID", Short: "Delete a listener (refused while a pool is bound to it)", Args: cobra.ExactArgs(1)}, nil, "listener",
		byID((*elbv2.ElbClient).DeleteListener), byID((*elbv3.ElbClient).DeleteListener))
}
