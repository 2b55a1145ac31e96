// Package contract is the ELB contract suite: one test per behaviour of Huawei Cloud's ELB API that
// elbd reproduces (issue 13, docs/elb-compatibility.md), written against the official Go SDK so the
// same test runs against two targets:
//
//   - "elbd": elbd's API started in-process (internal/elbd/elbdtest) on a loopback port, always run
//     (it is part of `make test`);
//   - "huaweicloud": a real Huawei Cloud project, run only when every variable below is set, skipped
//     otherwise. A test there touches only objects it creates, all named fleetlb-contract-*, and
//     deletes them in its cleanup.
//
// The real-cloud target reads:
//
//	HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK   an access key pair of the project (the SDK's own names)
//	HUAWEICLOUD_SDK_PROJECT_ID               the project ID (32 hex digits)
//	FLEETLB_CONTRACT_ELB_ENDPOINT            the region's ELB endpoint, e.g. https://elb.cn-north-4.myhuaweicloud.com
//	FLEETLB_CONTRACT_VPC_ID                  a VPC of the project
//	FLEETLB_CONTRACT_SUBNET_ID               an IPv4 subnet of that VPC: its neutron_subnet_id (the ID
//	                                         vip_subnet_cidr_id, vip_subnet_id and subnet_cidr_id take)
//	FLEETLB_CONTRACT_SUBNET_CIDR             that subnet's CIDR, e.g. 192.168.0.0/24 (member addresses
//	                                         are taken from its .100 upwards)
//	FLEETLB_CONTRACT_AZ                      an availability zone for dedicated load balancers, e.g. cn-north-4a
//	FLEETLB_CONTRACT_L4_FLAVOR_ID            optional: the L4 flavor of dedicated load balancers
//
// Setting some of the required variables but not all fails every test, naming the missing ones,
// so a half-configured run is never mistaken for a pass. docs/elb-compatibility.md says how to run it.
//
// Each test is named after the behaviour it checks and carries a comment citing its source (the
// SDK model file or the API reference page).
package contract

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// The real-cloud target's environment variables (see the package comment).
const (
	EnvAK         = "HUAWEICLOUD_SDK_AK"
	EnvSK         = "HUAWEICLOUD_SDK_SK"
	EnvProjectID  = "HUAWEICLOUD_SDK_PROJECT_ID"
	EnvEndpoint   = "FLEETLB_CONTRACT_ELB_ENDPOINT"
	EnvVPCID      = "FLEETLB_CONTRACT_VPC_ID"
	EnvSubnetID   = "FLEETLB_CONTRACT_SUBNET_ID"
	EnvSubnetCIDR = "FLEETLB_CONTRACT_SUBNET_CIDR"
	EnvAZ         = "FLEETLB_CONTRACT_AZ"
	EnvL4Flavor   = "FLEETLB_CONTRACT_L4_FLAVOR_ID"
)

var requiredEnv = []string{EnvAK, EnvSK, EnvProjectID, EnvEndpoint, EnvVPCID, EnvSubnetID, EnvSubnetCIDR, EnvAZ}

// NamePrefix starts the name of every object the suite creates.
const NamePrefix = "fleetlb-contract-"

// Target is one ELB the suite runs against, with SDK clients signed for its project.
type Target struct {
	// Name is "elbd" or "huaweicloud".
	Name string
	V3   *elbv3.ElbClient
	V2   *elbv2.ElbClient
	// ProjectID is the project the clients act in.
	ProjectID string
	// VPCID and SubnetID are where load balancers and members are created (SubnetID is the
	// neutron subnet ID both API families take).
	VPCID, SubnetID string
	// AZ is the availability zone dedicated load balancers are created in ("" on elbd, which has one).
	AZ string
	// Elbd is the in-process server on the elbd target, nil on the real cloud.
	Elbd *elbdtest.Server

	t        *testing.T
	subnet   netip.Prefix
	l4Flavor string
}

// Real reports whether the target is Huawei Cloud itself.
func (tg *Target) Real() bool { return tg.Elbd == nil }

// Elbd configures the in-process elbd of the "elbd" target. The zero value is elbdtest.Config
// with the v2 API mounted.
type Elbd struct {
	// Config is elbd's YAML configuration; "" means elbdtest.Config. It must keep key AK1
	// (SK1-secret) in project p1 and subnet-a1 (127.10.1.0/24) of vpc-a, which the target uses.
	Config string
	// ProvisioningDelay is elbd's --provisioning-delay: the shared ELB's busy window after a write.
	ProvisioningDelay time.Duration
	// RealDataPlane runs elbd's data plane (health checks, operating statuses, traffic on
	// loopback VIPs) instead of none.
	RealDataPlane bool
}

// Run runs body once per target, as subtests "elbd" and "huaweicloud" (the latter skipped unless
// the environment names a real project).
func Run(t *testing.T, body func(t *testing.T, tg *Target)) { RunWith(t, Elbd{}, body) }

// RunWith is Run with the in-process elbd configured by e (quotas, throttling, ...); on the real
// cloud the project's own settings apply and body must read them rather than assume e's.
func RunWith(t *testing.T, e Elbd, body func(t *testing.T, tg *Target)) {
	t.Run("elbd", func(t *testing.T) { body(t, startElbd(t, e)) })
	t.Run("huaweicloud", func(t *testing.T) { body(t, openReal(t)) })
}

func startElbd(t *testing.T, e Elbd) *Target {
	t.Helper()
	cfg := e.Config
	if cfg == "" {
		cfg = elbdtest.Config
	}
	srv := elbdtest.Start(t, cfg, elbdtest.Options{ProvisioningDelay: e.ProvisioningDelay, RealDataPlane: e.RealDataPlane})
	return &Target{
		Name: "elbd", ProjectID: "p1", VPCID: "vpc-a", SubnetID: "subnet-a1", Elbd: srv, t: t,
		V3:     elbdtest.V3Client(t, srv.URL, "AK1", "SK1-secret", "p1"),
		V2:     elbdtest.V2Client(t, srv.URL, "AK1", "SK1-secret", "p1"),
		subnet: netip.MustParsePrefix("127.10.1.0/24"),
	}
}

func openReal(t *testing.T) *Target {
	t.Helper()
	var missing, set []string
	for _, k := range requiredEnv {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		} else {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		t.Skipf("no real Huawei Cloud project configured (set %s to run the contract suite against one)", strings.Join(requiredEnv, ", "))
	}
	if len(missing) > 0 {
		t.Fatalf("the real-cloud contract run needs %s too (%s are set)", strings.Join(missing, ", "), strings.Join(set, ", "))
	}
	subnet, err := netip.ParsePrefix(os.Getenv(EnvSubnetCIDR))
	if err != nil || !subnet.Addr().Is4() || subnet.Bits() > 24 {
		t.Fatalf("%s=%q: want the subnet's IPv4 CIDR, /24 or larger", EnvSubnetCIDR, os.Getenv(EnvSubnetCIDR))
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(os.Getenv(EnvAK)).WithSk(os.Getenv(EnvSK)).
		WithProjectId(os.Getenv(EnvProjectID)).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	ep := []string{os.Getenv(EnvEndpoint)}
	hc3, err := elbv3.ElbClientBuilder().WithEndpoints(ep).WithCredential(cred).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc2, err := elbv2.ElbClientBuilder().WithEndpoints(ep).WithCredential(cred).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return &Target{
		Name: "huaweicloud", V3: elbv3.NewElbClient(hc3), V2: elbv2.NewElbClient(hc2),
		ProjectID: os.Getenv(EnvProjectID), VPCID: os.Getenv(EnvVPCID), SubnetID: os.Getenv(EnvSubnetID),
		AZ: os.Getenv(EnvAZ), t: t, subnet: subnet.Masked(), l4Flavor: os.Getenv(EnvL4Flavor),
	}
}

// ---- names, addresses, cleanup ----

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// NewName is a fresh object name: fleetlb-contract-<test>-<random>, at most 64 characters.
func (tg *Target) NewName() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := unsafeName.ReplaceAllString(strings.ToLower(tg.t.Name()), "-")
	if max := 64 - len(NamePrefix) - 7; len(base) > max {
		base = base[len(base)-max:]
	}
	return NamePrefix + strings.Trim(base, "-") + "-" + hex.EncodeToString(b[:])
}

// MemberAddress is the i-th member address of the subnet (from .100 upwards).
func (tg *Target) MemberAddress(i int) string {
	a := tg.subnet.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += 100 + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// cleanupDelete registers del to run when the test ends (the last created is deleted first).
// A 404 counts as deleted; a 409 (v2 busy while provisioning) is retried until the deadline.
func (tg *Target) cleanupDelete(what string, del func() error) {
	t := tg.t
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			err := del()
			if err == nil || StatusOf(err) == http.StatusNotFound {
				return
			}
			if StatusOf(err) != http.StatusConflict || time.Now().After(deadline) {
				t.Errorf("cleanup: deleting %s: %v", what, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// ---- errors ----

// APIError is err as the SDK's service response error; the test fails if it is not one.
func APIError(t testing.TB, err error) *sdkerr.ServiceResponseError {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded; want an API error")
	}
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not an API error response", err, err)
	}
	return se
}

// StatusOf is the HTTP status of an API error, 0 for nil or any other error.
func StatusOf(err error) int {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

// WantError asserts err is an API error with this status and error_code whose message contains
// every fragment (matched case-insensitively); code "" accepts any code.
func WantError(t testing.TB, err error, status int, code string, fragments ...string) *sdkerr.ServiceResponseError {
	t.Helper()
	se := APIError(t, err)
	if se.StatusCode != status || (code != "" && se.ErrorCode != code) {
		t.Fatalf("got %d %s %q; want %d %s", se.StatusCode, se.ErrorCode, se.ErrorMessage, status, code)
	}
	for _, f := range fragments {
		if !strings.Contains(strings.ToLower(se.ErrorMessage), strings.ToLower(f)) {
			t.Errorf("message %q does not mention %q", se.ErrorMessage, f)
		}
	}
	return se
}

// Ptr is a pointer to v, for the SDK's optional fields.
func Ptr[T any](v T) *T { return &v }

// created is the response of a create call the test needs: a refusal ends the test, saying
// what it was creating.
func created[R any](tg *Target, creating string, resp *R, err error) *R {
	tg.t.Helper()
	if err != nil {
		tg.t.Fatalf("creating %s: %v", creating, err)
	}
	return resp
}

// errOf is the error of an SDK call whose response is not needed (a delete's, for cleanupDelete).
func errOf[R any](_ R, err error) error { return err }

// named gives an object the request leaves unnamed a fresh name (NewName).
func (tg *Target) named(name **string) {
	if *name == nil {
		*name = Ptr(tg.NewName())
	}
}

// ---- v3 (dedicated) objects; each is deleted when the test ends ----

// V3LoadBalancer creates a dedicated load balancer in the target's subnet.
func (tg *Target) V3LoadBalancer(opt v3model.CreateLoadBalancerOption) v3model.LoadBalancer {
	tg.t.Helper()
	tg.named(&opt.Name)
	if opt.VipSubnetCidrId == nil {
		opt.VipSubnetCidrId = Ptr(tg.SubnetID)
	}
	if opt.AvailabilityZoneList == nil && tg.AZ != "" {
		opt.AvailabilityZoneList = []string{tg.AZ}
	}
	if opt.L4FlavorId == nil && tg.l4Flavor != "" {
		opt.L4FlavorId = Ptr(tg.l4Flavor)
	}
	resp, err := tg.V3.CreateLoadBalancer(&v3model.CreateLoadBalancerRequest{Body: &v3model.CreateLoadBalancerRequestBody{Loadbalancer: &opt}})
	lb := *created(tg, "a dedicated load balancer", resp, err).Loadbalancer
	tg.cleanupDelete("load balancer "+lb.Id, func() error {
		return errOf(tg.V3.DeleteLoadBalancer(&v3model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id}))
	})
	return lb
}

// V3Listener creates a listener on lbID.
func (tg *Target) V3Listener(lbID, protocol string, port int32) v3model.Listener {
	tg.t.Helper()
	resp, err := tg.V3.CreateListener(&v3model.CreateListenerRequest{Body: &v3model.CreateListenerRequestBody{
		Listener: &v3model.CreateListenerOption{LoadbalancerId: lbID, Protocol: protocol, ProtocolPort: Ptr(port), Name: Ptr(tg.NewName())},
	}})
	l := *created(tg, fmt.Sprintf("a %s listener on port %d", protocol, port), resp, err).Listener
	tg.cleanupDelete("listener "+l.Id, func() error {
		return errOf(tg.V3.DeleteListener(&v3model.DeleteListenerRequest{ListenerId: l.Id}))
	})
	return l
}

// V3Pool creates a pool (ROUND_ROBIN unless opt says otherwise).
func (tg *Target) V3Pool(opt v3model.CreatePoolOption) v3model.Pool {
	tg.t.Helper()
	if opt.LbAlgorithm == "" {
		opt.LbAlgorithm = "ROUND_ROBIN"
	}
	tg.named(&opt.Name)
	resp, err := tg.V3.CreatePool(&v3model.CreatePoolRequest{Body: &v3model.CreatePoolRequestBody{Pool: &opt}})
	p := *created(tg, "a pool", resp, err).Pool
	tg.cleanupDelete("pool "+p.Id, func() error { return errOf(tg.V3.DeletePool(&v3model.DeletePoolRequest{PoolId: p.Id})) })
	return p
}

// V3Member creates member i of the subnet (MemberAddress(i)) on port in poolID, and returns
// the call's error for tests about refusals; a created member is deleted when the test ends.
func (tg *Target) V3Member(poolID string, i int, port int32) (v3model.Member, error) {
	tg.t.Helper()
	resp, err := tg.V3.CreateMember(&v3model.CreateMemberRequest{PoolId: poolID, Body: &v3model.CreateMemberRequestBody{
		Member: &v3model.CreateMemberOption{Address: tg.MemberAddress(i), ProtocolPort: Ptr(port), SubnetCidrId: Ptr(tg.SubnetID), Name: Ptr(tg.NewName())},
	}})
	if err != nil {
		return v3model.Member{}, err
	}
	tg.CleanupV3Member(poolID, resp.Member.Id)
	return *resp.Member, nil
}

// MustV3Member is V3Member for a member the test needs: a refusal ends the test.
func (tg *Target) MustV3Member(poolID string, i int, port int32) v3model.Member {
	tg.t.Helper()
	m, err := tg.V3Member(poolID, i, port)
	return *created(tg, fmt.Sprintf("member %d of pool %s", i, poolID), &m, err)
}

// V3HealthMonitor creates a health monitor (named unless opt says otherwise).
func (tg *Target) V3HealthMonitor(opt v3model.CreateHealthMonitorOption) v3model.HealthMonitor {
	tg.t.Helper()
	tg.named(&opt.Name)
	resp, err := tg.V3.CreateHealthMonitor(&v3model.CreateHealthMonitorRequest{Body: &v3model.CreateHealthMonitorRequestBody{Healthmonitor: &opt}})
	hm := *created(tg, "a health monitor", resp, err).Healthmonitor
	tg.cleanupDelete("health monitor "+hm.Id, func() error {
		return errOf(tg.V3.DeleteHealthMonitor(&v3model.DeleteHealthMonitorRequest{HealthmonitorId: hm.Id}))
	})
	return hm
}

// CleanupV3Member deletes member id of poolID when the test ends (for members a batch call made).
func (tg *Target) CleanupV3Member(poolID, id string) {
	tg.cleanupDelete("member "+id, func() error {
		return errOf(tg.V3.DeleteMember(&v3model.DeleteMemberRequest{PoolId: poolID, MemberId: id}))
	})
}

// V3Stack is a dedicated load balancer with a TCP listener on port 80 and its TCP pool, the
// setting most behaviours need.
func (tg *Target) V3Stack() (v3model.LoadBalancer, v3model.Listener, v3model.Pool) {
	tg.t.Helper()
	lb := tg.V3LoadBalancer(v3model.CreateLoadBalancerOption{})
	l := tg.V3Listener(lb.Id, "TCP", 80)
	p := tg.V3Pool(v3model.CreatePoolOption{Protocol: "TCP", ListenerId: Ptr(l.Id)})
	return lb, l, p
}

// ---- v2 (shared) objects; each is deleted when the test ends ----

// V2LoadBalancer creates a shared load balancer in the target's subnet and waits until it is
// ACTIVE (the shared ELB provisions asynchronously).
func (tg *Target) V2LoadBalancer() v2model.LoadbalancerResp {
	tg.t.Helper()
	resp, err := tg.V2.CreateLoadbalancer(&v2model.CreateLoadbalancerRequest{Body: &v2model.CreateLoadbalancerRequestBody{
		Loadbalancer: &v2model.CreateLoadbalancerReq{VipSubnetId: tg.SubnetID, Name: Ptr(tg.NewName())},
	}})
	lb := *created(tg, "a shared load balancer", resp, err).Loadbalancer
	tg.cleanupDelete("shared load balancer "+lb.Id, func() error {
		return errOf(tg.V2.DeleteLoadbalancer(&v2model.DeleteLoadbalancerRequest{LoadbalancerId: lb.Id}))
	})
	tg.WaitV2Active(lb.Id)
	return lb
}

// V2ProvisioningStatus is the shared load balancer's provisioning_status.
func (tg *Target) V2ProvisioningStatus(lbID string) string {
	tg.t.Helper()
	resp, err := tg.V2.ShowLoadbalancer(&v2model.ShowLoadbalancerRequest{LoadbalancerId: lbID})
	if err != nil {
		tg.t.Fatalf("showing shared load balancer %s: %v", lbID, err)
	}
	return resp.Loadbalancer.ProvisioningStatus.Value()
}

// WaitV2Active polls the shared load balancer until its provisioning_status is ACTIVE.
func (tg *Target) WaitV2Active(lbID string) {
	tg.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := tg.V2ProvisioningStatus(lbID)
		if st == "ACTIVE" {
			return
		}
		if time.Now().After(deadline) || strings.HasPrefix(st, "ERROR") {
			tg.t.Fatalf("shared load balancer %s is %s, not ACTIVE", lbID, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// V2Listener creates a listener on the shared load balancer and waits until it is ACTIVE again.
func (tg *Target) V2Listener(lbID string, protocol v2model.CreateListenerReqProtocol, port int32) v2model.ListenerResp {
	tg.t.Helper()
	resp, err := tg.V2.CreateListener(&v2model.CreateListenerRequest{Body: &v2model.CreateListenerRequestBody{
		Listener: &v2model.CreateListenerReq{LoadbalancerId: lbID, Protocol: protocol, ProtocolPort: port, Name: Ptr(tg.NewName())},
	}})
	l := *created(tg, fmt.Sprintf("a shared listener on port %d", port), resp, err).Listener
	tg.cleanupDelete("shared listener "+l.Id, func() error {
		return errOf(tg.V2.DeleteListener(&v2model.DeleteListenerRequest{ListenerId: l.Id}))
	})
	tg.WaitV2Active(lbID)
	return l
}

// V2Pool creates a ROUND_ROBIN pool for the shared listener and waits until lbID is ACTIVE again.
func (tg *Target) V2Pool(lbID, listenerID string, protocol v2model.CreatePoolReqProtocol) v2model.PoolResp {
	tg.t.Helper()
	resp, err := tg.V2.CreatePool(&v2model.CreatePoolRequest{Body: &v2model.CreatePoolRequestBody{
		Pool: &v2model.CreatePoolReq{ListenerId: Ptr(listenerID), Protocol: protocol, LbAlgorithm: "ROUND_ROBIN", Name: Ptr(tg.NewName())},
	}})
	p := *created(tg, "a shared pool", resp, err).Pool
	tg.cleanupDelete("shared pool "+p.Id, func() error { return errOf(tg.V2.DeletePool(&v2model.DeletePoolRequest{PoolId: p.Id})) })
	tg.WaitV2Active(lbID)
	return p
}

// V2Member creates member i of the subnet on port in the shared pool, returning the call's
// error; a created member is deleted when the test ends. It does not wait.
func (tg *Target) V2Member(poolID string, i int, port int32) (v2model.MemberResp, error) {
	tg.t.Helper()
	resp, err := tg.V2.CreateMember(&v2model.CreateMemberRequest{PoolId: poolID, Body: &v2model.CreateMemberRequestBody{
		Member: &v2model.CreateMemberReq{Address: tg.MemberAddress(i), ProtocolPort: port, SubnetId: tg.SubnetID, Name: Ptr(tg.NewName())},
	}})
	if err != nil {
		return v2model.MemberResp{}, err
	}
	m := *resp.Member
	tg.cleanupDelete("shared member "+m.Id, func() error {
		return errOf(tg.V2.DeleteMember(&v2model.DeleteMemberRequest{PoolId: poolID, MemberId: m.Id}))
	})
	return m, nil
}

// V2Stack is a shared load balancer with a TCP listener on port 80 and its TCP pool, ACTIVE.
func (tg *Target) V2Stack() (v2model.LoadbalancerResp, v2model.ListenerResp, v2model.PoolResp) {
	tg.t.Helper()
	lb := tg.V2LoadBalancer()
	l := tg.V2Listener(lb.Id, v2model.GetCreateListenerReqProtocolEnum().TCP, 80)
	p := tg.V2Pool(lb.Id, l.Id, v2model.GetCreatePoolReqProtocolEnum().TCP)
	return lb, l, p
}

// String names the target in messages.
func (tg *Target) String() string { return fmt.Sprintf("%s (project %s)", tg.Name, tg.ProjectID) }
