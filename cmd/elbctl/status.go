package main

import (
	"fmt"
	"io"
	"strings"

	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"
)

// statusTree is a status tree that prints as an indented outline in table mode.
type statusTree struct{ root any }

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

// printTree writes one line per node: kind, id, name or address, operating status; children indented.
func printTree(w io.Writer, kind string, node any, depth int) {
	obj, ok := node.(map[string]any)
	if !ok {
		return
	}
	label := cell(obj["name"])
	if label == "" {
		label = "-"
	}
	if addr := cell(obj["address"]); addr != "" {
		label = fmt.Sprintf("%s:%s", addr, cell(obj["protocol_port"]))
	}
	fmt.Fprintf(w, "%s%s %s %s %s\n", strings.Repeat("  ", depth), kind, cell(obj["id"]), label, cell(obj["operating_status"]))
	for _, child := range []struct{ key, kind string }{{"listeners", "listener"}, {"pools", "pool"}, {"members", "member"}} {
		list, _ := obj[child.key].([]any)
		for _, c := range list {
			printTree(w, child.kind, c, depth+1)
		}
	}
	if hm, ok := obj["healthmonitor"].(map[string]any); ok && hm["id"] != nil {
		fmt.Fprintf(w, "%shealthmonitor %s %s\n", strings.Repeat("  ", depth+1), cell(hm["id"]), cell(hm["type"]))
	}
}
