package main

import (
	"fmt"
	"reflect"

	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/spf13/cobra"
)

// The "list", "show ID" and "delete ID" commands of every resource differ only in their SDK
// calls and table fields; these builders hold the rest once. cmd carries the command's Use, Short and Args, check its flag
// checks (nil for none).

// listCmd makes cmd list with the selected family's call: v2 in one call, v3 page by page
// (list3 gets the marker and the --page-size limit) until the last page.
func (g *globals) listCmd(cmd *cobra.Command, check func(*cobra.Command, []string) error,
	fields2 []string, list2 func(cmd *cobra.Command, c *elbv2.ElbClient) (any, error),
	fields3 []string, list3 func(cmd *cobra.Command, c *elbv3.ElbClient, marker *string, limit *int32) (any, error)) *cobra.Command {
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(fields2).of(list2(cmd, c))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			return view(fields3).of(allPages(func(marker *string) (any, error) { return list3(cmd, c, marker, g.limit()) }))
		})
	return cmd
}

// showCmd makes cmd fetch the resource named by its argument with the selected family's call
// (which returns the SDK response) and print it with that family's table fields.
func (g *globals) showCmd(cmd *cobra.Command, check func(*cobra.Command, []string) error,
	fields2 []string, show2 func(c *elbv2.ElbClient, id string) (any, error),
	fields3 []string, show3 func(c *elbv3.ElbClient, id string) (any, error)) *cobra.Command {
	cmd.RunE = g.dispatch(check,
		func(_ *cobra.Command, args []string, c *elbv2.ElbClient) (result, error) {
			return view(fields2).of(show2(c, args[0]))
		},
		func(_ *cobra.Command, args []string, c *elbv3.ElbClient) (result, error) {
			return view(fields3).of(show3(c, args[0]))
		})
	return cmd
}

// deleteCmd makes cmd delete the resource named by its argument with the selected family's call
// and confirm it as "<kind> <id> deleted".
func (g *globals) deleteCmd(cmd *cobra.Command, check func(*cobra.Command, []string) error, kind string,
	del2 func(c *elbv2.ElbClient, id string) (any, error), del3 func(c *elbv3.ElbClient, id string) (any, error)) *cobra.Command {
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, args []string, c *elbv2.ElbClient) (result, error) {
			_, err := del2(c, args[0])
			return g.deleted(cmd, kind, args[0], err)
		},
		func(cmd *cobra.Command, args []string, c *elbv3.ElbClient) (result, error) {
			_, err := del3(c, args[0])
			return g.deleted(cmd, kind, args[0], err)
		})
	return cmd
}

// byID is the SDK call m (a method expression such as (*elbv3.ElbClient).ShowPool, of either
// family) on the resource with this ID. Such a request has only path parameters, its string
// fields: the last is the resource's ID, the ones before it its parents' (a member's --pool).
func byID[C, Req, Resp any](m func(C, *Req) (Resp, error), parents ...*string) func(c C, id string) (any, error) {
	return func(c C, id string) (any, error) {
		req := new(Req)
		v := reflect.ValueOf(req).Elem()
		if v.NumField() != len(parents)+1 {
			return nil, fmt.Errorf("elbctl: %s has %d path parameters, not %d", v.Type(), v.NumField(), len(parents)+1)
		}
		for i, p := range parents {
			v.Field(i).SetString(*p)
		}
		v.Field(len(parents)).SetString(id)
		return m(c, req)
	}
}
