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

// filter is a list command's flag that narrows the list to the items with that value: the
// request's query field of that name (*string on v2, a list of one on v3; a path parameter such as
// a member's pool_id takes it as it is). help "" is a flag of the parent command (--pool).
type filter struct{ flag, field, help string }

// listCmd makes cmd list with the selected family's call (a listBy): v2 in one call, v3 page by
// page (the marker and the --page-size limit) until the last page; both with the filters given.
func (g *globals) listCmd(cmd *cobra.Command, check func(*cobra.Command, []string) error, filters []filter,
	fields2 []string, list2 lister[*elbv2.ElbClient], fields3 []string, list3 lister[*elbv3.ElbClient]) *cobra.Command {
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(fields2).of(list2(c, func(req reflect.Value) error { return narrow(req, cmd, filters, nil, nil) }))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			return view(fields3).of(allPages(func(marker *string) (any, error) {
				return list3(c, func(req reflect.Value) error { return narrow(req, cmd, filters, marker, g.limit()) })
			}))
		})
	for _, f := range filters {
		if f.help != "" {
			cmd.Flags().String(f.flag, "", f.help)
		}
	}
	return cmd
}

// lister is a list call whose request (a struct) fill sets.
type lister[C any] func(c C, fill func(req reflect.Value) error) (any, error)

// listBy is the list call m (a method expression such as (*elbv3.ElbClient).ListPools).
func listBy[C, Req, Resp any](m func(C, *Req) (Resp, error)) lister[C] {
	return func(c C, fill func(reflect.Value) error) (any, error) {
		req := new(Req)
		if err := fill(reflect.ValueOf(req).Elem()); err != nil {
			return nil, err
		}
		return m(c, req)
	}
}

// narrow sets the list request's fields of the filters given on the command line, and the page's
// marker and limit when not nil.
func narrow(req reflect.Value, cmd *cobra.Command, filters []filter, marker *string, limit *int32) error {
	set := func(field string, v any) error {
		f := req.FieldByName(field)
		if !f.IsValid() {
			return fmt.Errorf("elbctl: %s has no field %s", req.Type(), field)
		}
		switch x := reflect.ValueOf(v); {
		case f.Type() == x.Type():
			f.Set(x)
		case f.Type() == reflect.PointerTo(x.Type()):
			f.Set(reflect.New(x.Type()))
			f.Elem().Set(x)
		case f.Type() == reflect.PointerTo(reflect.SliceOf(x.Type())):
			f.Set(reflect.New(f.Type().Elem()))
			f.Elem().Set(reflect.Append(f.Elem(), x))
		default:
			return fmt.Errorf("elbctl: %s.%s is a %s, not a %s filter", req.Type(), field, f.Type(), x.Type())
		}
		return nil
	}
	for _, f := range filters {
		if !cmd.Flags().Changed(f.flag) {
			continue
		}
		v, err := cmd.Flags().GetString(f.flag)
		if err == nil {
			err = set(f.field, v)
		}
		if err != nil {
			return err
		}
	}
	if marker != nil {
		if err := set("Marker", marker); err != nil {
			return err
		}
	}
	if limit != nil {
		return set("Limit", limit)
	}
	return nil
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
