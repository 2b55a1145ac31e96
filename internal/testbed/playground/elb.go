package playground

import (
	"fmt"
	"net/url"
	"time"

	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
)

// ELB classes, as the kubernetes.io/elb.class annotation spells them.
const (
	ClassPerformance = "performance" // dedicated, API v3
	ClassUnion       = "union"       // shared, API v2
)

// ELB talks to the ELB API (elbd or the real cloud) through the official
// SDK, both families. It does what an operator does by hand, and reads what
// the demo and the tests show.
type ELB struct {
	V3 *elbv3.ElbClient
	V2 *elbv2.ElbClient
}

// NewELB builds SDK clients for endpoint (e.g. http://127.0.0.1:9080).
func NewELB(endpoint string, c Credentials) (*ELB, error) { return NewELBWithCA(endpoint, "", c) }

// NewELBWithCA is NewELB for an https endpoint whose certificate the CA in the PEM file caFile
// signed ("": the system's roots).
func NewELBWithCA(endpoint, caFile string, c Credentials) (*ELB, error) {
	if u, err := url.Parse(endpoint); err != nil || u.Host == "" {
		return nil, fmt.Errorf("ELB endpoint %q is not a URL such as http://127.0.0.1:9080", endpoint)
	}
	v3, v2, err := elbclient.SDKClients(elbclient.Config{Endpoint: endpoint, ProjectID: c.ProjectID, AK: c.AccessKey, SK: c.SecretKey, Timeout: 15 * time.Second, CAFile: caFile})
	if err != nil {
		return nil, err
	}
	return &ELB{V3: v3, V2: v2}, nil
}

// Ping makes one cheap authenticated read.
func (e *ELB) Ping() error {
	limit := int32(1)
	_, err := e.V3.ListLoadBalancers(&m3.ListLoadBalancersRequest{Limit: &limit})
	return err
}

// LB is a created load balancer.
type LB struct {
	ID  string
	VIP string
}

// CreatePerformance creates a dedicated ELB with IP-type backends enabled.
func (e *ELB) CreatePerformance(name, subnetID string) (LB, error) {
	ipTarget := true
	resp, err := e.V3.CreateLoadBalancer(&m3.CreateLoadBalancerRequest{Body: &m3.CreateLoadBalancerRequestBody{
		Loadbalancer: &m3.CreateLoadBalancerOption{Name: &name, VipSubnetCidrId: &subnetID, IpTargetEnable: &ipTarget,
			AvailabilityZoneList: []string{}}}})
	if err != nil {
		return LB{}, fmt.Errorf("create the dedicated ELB %s: %w", name, err)
	}
	return LB{ID: resp.Loadbalancer.Id, VIP: resp.Loadbalancer.VipAddress}, nil
}

// CreateUnion creates a shared ELB.
func (e *ELB) CreateUnion(name, subnetID string) (LB, error) {
	resp, err := e.V2.CreateLoadbalancer(&m2.CreateLoadbalancerRequest{Body: &m2.CreateLoadbalancerRequestBody{
		Loadbalancer: &m2.CreateLoadbalancerReq{Name: &name, VipSubnetId: subnetID}}})
	if err != nil {
		return LB{}, fmt.Errorf("create the shared ELB %s: %w", name, err)
	}
	return LB{ID: resp.Loadbalancer.Id, VIP: resp.Loadbalancer.VipAddress}, nil
}

// Listener is a listener and its default pool ("" when none).
type Listener struct {
	ID       string
	Protocol string
	Port     int32
	PoolID   string
}

// FindListener returns the listener of the ELB on port, or ok=false.
func (e *ELB) FindListener(class, lbID string, port int32) (l Listener, ok bool, err error) {
	if class == ClassUnion {
		resp, err := e.V2.ListListeners(&m2.ListListenersRequest{LoadbalancerId: &lbID, ProtocolPort: &port})
		if err != nil {
			return Listener{}, false, fmt.Errorf("list the listeners of ELB %s: %w", lbID, err)
		}
		if resp.Listeners != nil {
			for _, x := range *resp.Listeners {
				if x.ProtocolPort == port {
					return Listener{ID: x.Id, Protocol: x.Protocol.Value(), Port: x.ProtocolPort, PoolID: x.DefaultPoolId}, true, nil
				}
			}
		}
		return Listener{}, false, nil
	}
	resp, err := e.V3.ListListeners(&m3.ListListenersRequest{LoadbalancerId: &[]string{lbID}})
	if err != nil {
		return Listener{}, false, fmt.Errorf("list the listeners of ELB %s: %w", lbID, err)
	}
	if resp.Listeners != nil {
		for _, x := range *resp.Listeners {
			if x.ProtocolPort == port {
				return Listener{ID: x.Id, Protocol: x.Protocol, Port: x.ProtocolPort, PoolID: x.DefaultPoolId}, true, nil
			}
		}
	}
	return Listener{}, false, nil
}

// Member is one backend server of a pool as the ELB reports it.
type Member struct {
	elbclient.Member
	Status string // ONLINE, OFFLINE, NO_MONITOR, …
}

// Members lists the members of a pool.
func (e *ELB) Members(class, poolID string) ([]Member, error) {
	var out []Member
	if class == ClassUnion {
		resp, err := e.V2.ListMembers(&m2.ListMembersRequest{PoolId: poolID})
		if err != nil {
			return nil, fmt.Errorf("list the members of pool %s: %w", poolID, err)
		}
		if resp.Members != nil {
			for _, m := range *resp.Members {
				out = append(out, Member{Member: elbclient.Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort,
					Weight: int(m.Weight), SubnetID: m.SubnetId}, Status: m.OperatingStatus})
			}
		}
		return out, nil
	}
	resp, err := e.V3.ListMembers(&m3.ListMembersRequest{PoolId: poolID})
	if err != nil {
		return nil, fmt.Errorf("list the members of pool %s: %w", poolID, err)
	}
	if resp.Members != nil {
		for _, m := range *resp.Members {
			sub := ""
			if m.SubnetCidrId != nil {
				sub = *m.SubnetCidrId
			}
			out = append(out, Member{Member: elbclient.Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort,
				Weight: int(m.Weight), SubnetID: sub}, Status: m.OperatingStatus})
		}
	}
	return out, nil
}

// PortMembers returns the members behind the ELB's listener on port; ok is
// false when there is no such listener or it has no pool.
func (e *ELB) PortMembers(class, lbID string, port int32) (ms []Member, l Listener, ok bool, err error) {
	l, ok, err = e.FindListener(class, lbID, port)
	if err != nil || !ok || l.PoolID == "" {
		return nil, l, false, err
	}
	ms, err = e.Members(class, l.PoolID)
	return ms, l, err == nil, err
}

// CreateListenerWithPool does S3's first step by hand on a dedicated ELB: a
// TCP listener on port with a ROUND_ROBIN TCP pool and a TCP health check.
func (e *ELB) CreateListenerWithPool(lbID string, port int32, name string) (Listener, error) {
	lr, err := e.V3.CreateListener(&m3.CreateListenerRequest{Body: &m3.CreateListenerRequestBody{Listener: &m3.CreateListenerOption{
		LoadbalancerId: lbID, Protocol: "TCP", ProtocolPort: &port, Name: &name}}})
	if err != nil {
		return Listener{}, fmt.Errorf("create listener %s on port %d: %w", name, port, err)
	}
	pr, err := e.V3.CreatePool(&m3.CreatePoolRequest{Body: &m3.CreatePoolRequestBody{Pool: &m3.CreatePoolOption{
		ListenerId: &lr.Listener.Id, Protocol: "TCP", LbAlgorithm: "ROUND_ROBIN", Name: &name}}})
	if err != nil {
		return Listener{}, fmt.Errorf("create the pool of listener %s: %w", name, err)
	}
	maxRetries := int32(2)
	if _, err := e.V3.CreateHealthMonitor(&m3.CreateHealthMonitorRequest{Body: &m3.CreateHealthMonitorRequestBody{Healthmonitor: &m3.CreateHealthMonitorOption{
		PoolId: pr.Pool.Id, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: maxRetries}}}); err != nil {
		return Listener{}, fmt.Errorf("create the health monitor of pool %s: %w", pr.Pool.Id, err)
	}
	return Listener{ID: lr.Listener.Id, Protocol: "TCP", Port: port, PoolID: pr.Pool.Id}, nil
}

// AddMember adds a member by hand to a dedicated ELB's pool (a VM, S3).
func (e *ELB) AddMember(poolID, name, address string, port int32, weight int32, subnetID string) (Member, error) {
	opt := &m3.CreateMemberOption{Name: &name, Address: address, ProtocolPort: &port, Weight: &weight}
	if subnetID != "" {
		opt.SubnetCidrId = &subnetID
	}
	resp, err := e.V3.CreateMember(&m3.CreateMemberRequest{PoolId: poolID, Body: &m3.CreateMemberRequestBody{Member: opt}})
	if err != nil {
		return Member{}, fmt.Errorf("add member %s (%s:%d) to pool %s: %w", name, address, port, poolID, err)
	}
	return Member{Member: elbclient.Member{ID: resp.Member.Id, Name: name, Address: address, Port: port, Weight: int(weight), SubnetID: subnetID}}, nil
}
