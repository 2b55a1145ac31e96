package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
)

// A listener shown with its pool's members grouped by owner (O3): each cluster sharing it by the
// ID of its members' ownership mark, "manual" for the members added by hand.

// listenerRef names a listener: by ID, or by load balancer and port.
type listenerRef struct {
	id   string
	lb   string
	port int32
}

func (r *listenerRef) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.lb, "lb", "", "load balancer of the listener (with --port, instead of the listener ID)")
	cmd.Flags().Int32Var(&r.port, "port", 0, "port of the listener on --lb")
}

// check takes the ID from args (when given) and refuses an ambiguous or missing reference.
func (r *listenerRef) check(cmd *cobra.Command, args []string) error {
	byPort := cmd.Flags().Changed("lb") || cmd.Flags().Changed("port")
	switch {
	case len(args) == 1 && byPort:
		return usageErrorf("give either the listener ID or --lb and --port, not both")
	case len(args) == 1:
		r.id = args[0]
		return nil
	case !byPort:
		return usageErrorf("name the listener: its ID, or --lb LB --port PORT")
	}
	if err := requireFlags(cmd, "lb", "port"); err != nil {
		return err
	}
	return checkPort("port", r.port)
}

// fleet is a listener (its API fields) and the members of its default pool.
type fleet struct {
	listener map[string]any
	poolID   string
	members  []fleetview.Member
	// requested is each owner cluster's weight from its record in the listener's tags
	// (fleetrecord; v3 listeners only); owners without one show the weights their members carry.
	requested map[string]int
	// stale marks owners whose record's heartbeat is older than fleetrecord.DefaultTTL (T13).
	stale map[string]bool
}

// fetch reads the listener and its default pool's members with the selected API family.
func (g *globals) fetchFleet(r listenerRef) (fleet, error) {
	var f fleet
	var err error
	if g.family == familyV2 {
		c, err := g.v2()
		if err != nil {
			return f, err
		}
		if r.id == "" {
			port := r.port
			if r.id, err = pickListener(c.ListListeners(&m2.ListListenersRequest{LoadbalancerId: &r.lb, ProtocolPort: &port})); err != nil {
				return f, r.notFound(err)
			}
		}
		if f.listener, err = genericOf(c.ShowListener(&m2.ShowListenerRequest{ListenerId: r.id})); err != nil {
			return f, err
		}
		if f.poolID = str(f.listener["default_pool_id"]); f.poolID == "" {
			return f, nil
		}
		members, err := resourceOf(c.ListMembers(&m2.ListMembersRequest{PoolId: f.poolID}))
		f.members = viewMembers(members, "subnet_id")
		return f, err
	}
	c, err := g.v3()
	if err != nil {
		return f, err
	}
	if r.id == "" {
		lbs, ports := []string{r.lb}, []string{strconv.Itoa(int(r.port))}
		if r.id, err = pickListener(allPages(func(marker *string) (any, error) {
			return c.ListListeners(&m3.ListListenersRequest{LoadbalancerId: &lbs, ProtocolPort: &ports, Marker: marker, Limit: g.limit()})
		})); err != nil {
			return f, r.notFound(err)
		}
	}
	if f.listener, err = genericOf(c.ShowListener(&m3.ShowListenerRequest{ListenerId: r.id})); err != nil {
		return f, err
	}
	if f.requested, f.stale, err = g.requestedWeights(r.id); err != nil {
		return f, err
	}
	if f.poolID = str(f.listener["default_pool_id"]); f.poolID == "" {
		return f, nil
	}
	members, err := allPages(func(marker *string) (any, error) {
		return c.ListMembers(&m3.ListMembersRequest{PoolId: f.poolID, Marker: marker, Limit: g.limit()})
	})
	if err != nil {
		return f, err
	}
	generic, err := toGeneric(members)
	f.members = viewMembers(generic, "subnet_cidr_id")
	return f, err
}

func (r listenerRef) notFound(err error) error {
	if err == errNoListener {
		return notFoundErrorf("load balancer %s has no listener on port %d (elbctl listener list --lb %s shows its listeners)", r.lb, r.port, r.lb)
	}
	return err
}

var errNoListener = fmt.Errorf("no listener")

// pickListener returns the ID of the one listener a filtered list call found.
func pickListener(resp any, err error) (string, error) {
	if err != nil {
		return "", err
	}
	items, err := resourceOf(resp, nil)
	if err != nil {
		return "", err
	}
	list, _ := items.([]any)
	if len(list) == 0 {
		return "", errNoListener
	}
	obj, _ := list[0].(map[string]any)
	return str(obj["id"]), nil
}

// resourceOf is the resource of an SDK response as plain JSON values.
func resourceOf(resp any, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	v, err := resource(resp)
	if err != nil {
		return nil, err
	}
	return toGeneric(v)
}

// genericOf is resourceOf for one object.
func genericOf(resp any, err error) (map[string]any, error) {
	v, err := resourceOf(resp, err)
	if err != nil {
		return nil, err
	}
	obj, _ := v.(map[string]any)
	return obj, nil
}

// viewMembers reads the API's member objects; subnetKey is the family's name of the subnet field.
func viewMembers(list any, subnetKey string) []fleetview.Member {
	items, _ := list.([]any)
	out := make([]fleetview.Member, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, fleetview.Member{ID: str(m["id"]), Name: str(m["name"]), Address: str(m["address"]),
			SubnetID: str(m[subnetKey]), Status: str(m["operating_status"]),
			Port: int32(num(m["protocol_port"])), Weight: int(num(m["weight"]))})
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int64 {
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return i
}

// requestedWeights reads the owner records in a v3 listener's tags: cluster ID → the weight it
// requested for this listener, and the owners whose heartbeat is older than the TTL (stale).
func (g *globals) requestedWeights(listenerID string) (map[string]int, map[string]bool, error) {
	c, err := g.elbClient()
	if err != nil {
		return nil, nil, err
	}
	tags, err := c.API(elbrules.ClassPerformance).ListenerTags(context.Background(), listenerID)
	if err != nil {
		return nil, nil, err
	}
	weights, stale := fleetrecord.Requested(tags, time.Now(), fleetrecord.DefaultTTL) // elbclient.Tag is fleetrecord's
	return weights, stale, nil
}

// view groups f's members by owner; an owner without a record shows the weights its members
// carry as requested (fleetview.RequestedCarried).
func (f fleet) view(counts map[string]float64) fleetview.View {
	return fleetview.Build(f.members, fleetview.Options{MemberCounts: counts, Requested: f.requested, Stale: f.stale})
}

// fleetOutput is what -o json/yaml print for a listener with its owners: the listener's API
// fields, with "owners" beside them.
func fleetOutput(f fleet, v fleetview.View) (map[string]any, error) {
	owners, err := toGeneric(v)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, x := range f.listener {
		out[k] = x
	}
	out["owners"] = owners
	return out, nil
}

// writeFleet prints the owners' table under a heading naming the pool.
func writeFleet(w io.Writer, f fleet, v fleetview.View) error {
	if f.poolID == "" {
		_, err := fmt.Fprintln(w, "\nno default pool: no members")
		return err
	}
	fmt.Fprintf(w, "\npool %s: %d members, by owner\n", f.poolID, len(f.members))
	return fleetview.Write(w, v)
}
