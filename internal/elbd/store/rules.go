package store

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// The rules below are pure: they look only at their arguments. Both API families share them; the
// store applies them inside its write transactions, so a rule holds however requests interleave.

// MaxNameLen and MaxDescriptionLen bound free-text fields, as the real API does.
const (
	MaxNameLen        = elbrules.MaxNameLen
	MaxDescriptionLen = elbrules.MaxDescriptionLen
)

// CheckText checks a name or description field.
func CheckText(field, v string, max int) error {
	if utf8.RuneCountInString(v) > max {
		return apierr.Invalid("%s is %d characters long; at most %d are allowed", field, utf8.RuneCountInString(v), max)
	}
	return nil
}

// CheckPort checks a TCP/UDP port field (1..65535).
func CheckPort(field string, p int) error {
	if p < 1 || p > 65535 {
		return apierr.Invalid("%s %d is out of range; use 1-65535", field, p)
	}
	return nil
}

// CheckWeight checks a member weight (elbrules.MinWeight..MaxWeight).
func CheckWeight(w int) error {
	if !elbrules.ValidWeight(w) {
		return apierr.Invalid("weight %d is out of range; use %d-%d (0 stops new traffic to the member)", w, elbrules.MinWeight, elbrules.MaxWeight)
	}
	return nil
}

// ListenerProtocols are the protocols each family's listeners accept.
var ListenerProtocols = map[Family][]string{
	FamilyV3: {ProtocolTCP, ProtocolUDP, ProtocolHTTP, ProtocolHTTPS, ProtocolQUIC},
	FamilyV2: {ProtocolTCP, ProtocolUDP, ProtocolHTTP, ProtocolTerminatedHTTPS},
}

// PoolProtocols are the protocols each family's pools accept.
var PoolProtocols = map[Family][]string{
	FamilyV3: {ProtocolTCP, ProtocolUDP, ProtocolHTTP, ProtocolHTTPS, ProtocolQUIC},
	FamilyV2: {ProtocolTCP, ProtocolUDP, ProtocolHTTP},
}

// CheckOneOf checks that v is one of allowed.
func CheckOneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return apierr.Invalid("%s %q is not supported; use one of %s", field, v, strings.Join(allowed, ", "))
}

// transport is the L4 protocol a listener occupies its port with.
func transport(protocol string) string {
	switch protocol {
	case ProtocolUDP, ProtocolQUIC:
		return "UDP"
	default:
		return "TCP"
	}
}

// PoolFitsListener reports whether a pool of poolProto can serve a listener of listenerProto:
// TCP→TCP, UDP→UDP or QUIC, HTTP→HTTP, HTTPS→HTTP or HTTPS, TERMINATED_HTTPS→HTTP, QUIC→QUIC or UDP.
func PoolFitsListener(listenerProto, poolProto string) bool {
	switch listenerProto {
	case ProtocolTCP:
		return poolProto == ProtocolTCP
	case ProtocolUDP:
		return poolProto == ProtocolUDP || poolProto == ProtocolQUIC
	case ProtocolQUIC:
		return poolProto == ProtocolQUIC || poolProto == ProtocolUDP
	case ProtocolHTTP:
		return poolProto == ProtocolHTTP
	case ProtocolHTTPS:
		return poolProto == ProtocolHTTP || poolProto == ProtocolHTTPS
	case ProtocolTerminatedHTTPS:
		return poolProto == ProtocolHTTP
	}
	return false
}

func errPoolProtocol(l Listener, p Pool) error {
	return apierr.Invalid("pool %s has protocol %s, which cannot serve listener %s (protocol %s); a %s listener needs a pool of protocol %s",
		p.ID, p.Protocol, l.ID, l.Protocol, l.Protocol, fitting(l.Protocol))
}

func fitting(listenerProto string) string {
	var out []string
	for _, p := range []string{ProtocolTCP, ProtocolUDP, ProtocolHTTP, ProtocolHTTPS, ProtocolQUIC} {
		if PoolFitsListener(listenerProto, p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, " or ")
}

// CheckListenerPortFree checks that no other listener of the load balancer holds the port with the
// same transport: two listeners cannot both receive TCP (or both UDP) on one VIP:port, so TCP and
// HTTP on port 80 conflict, TCP and UDP do not.
func CheckListenerPortFree(l Listener, others []Listener) error {
	for _, o := range others {
		if o.ID == l.ID || o.LoadBalancerID != l.LoadBalancerID || o.ProtocolPort != l.ProtocolPort {
			continue
		}
		if o.Protocol == l.Protocol {
			return apierr.Conflict("load balancer %s already has a %s listener on port %d (listener %s); use another port or update that listener",
				l.LoadBalancerID, o.Protocol, o.ProtocolPort, o.ID)
		}
		if transport(o.Protocol) == transport(l.Protocol) {
			return apierr.Conflict("port %d of load balancer %s is taken by %s listener %s; a %s listener cannot share it (both use %s)",
				l.ProtocolPort, l.LoadBalancerID, o.Protocol, o.ID, l.Protocol, transport(l.Protocol))
		}
	}
	return nil
}

// CheckListener checks a listener's own fields for its family.
func CheckListener(l Listener) error {
	if err := CheckOneOf("protocol", l.Protocol, ListenerProtocols[l.Family]); err != nil {
		return err
	}
	if err := CheckPort("protocol_port", l.ProtocolPort); err != nil {
		return err
	}
	if err := CheckText("name", l.Name, MaxNameLen); err != nil {
		return err
	}
	if err := CheckText("description", l.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := CheckTags(l.Tags); err != nil {
		return err
	}
	if l.Family == FamilyV3 && l.KeepaliveTimeout != 0 { // 0: the protocol's default
		if err := CheckKeepaliveTimeout(l.Protocol, l.KeepaliveTimeout); err != nil {
			return err
		}
	}
	if l.ConnectionLimit < -1 {
		return apierr.Invalid("connection_limit %d is invalid; use -1 (unlimited) or a positive number", l.ConnectionLimit)
	}
	for _, t := range []struct {
		name string
		v    int
		max  int
	}{{"keepalive_timeout", l.KeepaliveTimeout, 4000}, {"client_timeout", l.ClientTimeout, 300}, {"member_timeout", l.MemberTimeout, 300}} {
		if t.v < 0 || t.v > t.max {
			return apierr.Invalid("%s %d is out of range; use 0-%d seconds", t.name, t.v, t.max)
		}
	}
	return nil
}

// CheckKeepaliveTimeout checks a keepalive_timeout given for a v3 listener: TCP and UDP
// listeners take 10-4000 s (default 300), HTTP and HTTPS 0-4000 s (default 60)
// (services/elb/v3/model/model_create_listener_option.go keepalive_timeout). E6i.
func CheckKeepaliveTimeout(protocol string, v int) error {
	lo := 0
	if protocol == ProtocolTCP || protocol == ProtocolUDP {
		lo = 10
	}
	if v < lo || v > 4000 {
		return apierr.Invalid("keepalive_timeout %d is out of range for a %s listener; use %d-4000 seconds", v, protocol, lo)
	}
	return nil
}

// Algorithms are the pool lb_algorithm values.
var Algorithms = elbrules.Algorithms

// CheckPool checks a pool's own fields for its family.
func CheckPool(p Pool) error {
	if err := CheckOneOf("protocol", p.Protocol, PoolProtocols[p.Family]); err != nil {
		return err
	}
	if err := CheckOneOf("lb_algorithm", p.LBAlgorithm, Algorithms); err != nil {
		return err
	}
	if p.Family == FamilyV2 && p.Type != PoolTypeAny {
		return apierr.Invalid("type %q is not supported by shared (v2) load balancers; leave it empty", p.Type)
	}
	if err := CheckOneOf("type", p.Type, []string{PoolTypeAny, PoolTypeIP, PoolTypeInstance}); err != nil {
		return err
	}
	if err := CheckText("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if err := CheckText("description", p.Description, MaxDescriptionLen); err != nil {
		return err
	}
	// slow_start: HTTP/HTTPS/GRPC pools only, "其他协议传入该字段将报错"; duration 30-1200
	// (services/elb/v3/model/model_create_pool_slow_start_option.go). E6e.
	if ss := p.SlowStart; ss != nil {
		if p.Protocol != ProtocolHTTP && p.Protocol != ProtocolHTTPS {
			return apierr.Invalid("slow_start is supported by HTTP and HTTPS pools only; pool protocol is %s: leave slow_start out", p.Protocol)
		}
		if ss.Duration < 30 || ss.Duration > 1200 {
			return apierr.Invalid("slow_start.duration %d is out of range; use 30-1200 seconds", ss.Duration)
		}
	}
	// any_port_enable: "仅QUIC,TCP,UDP的pool支持" (model_create_pool_option.go). E6g.
	if p.AnyPortEnable && p.Protocol != ProtocolTCP && p.Protocol != ProtocolUDP && p.Protocol != ProtocolQUIC {
		return apierr.Invalid("any_port_enable is supported by TCP, UDP and QUIC pools only; pool protocol is %s", p.Protocol)
	}
	// connection_drain.timeout: 10~4000 s (model_connection_drain.go, elbrules). E7.
	if r := elbrules.ConnectionDrainTimeout; p.ConnectionDrain != nil && p.ConnectionDrain.Enable && !r.Contains(int(p.ConnectionDrain.Timeout)) {
		return apierr.Invalid("connection_drain.timeout %d is out of range; use %d-%d seconds", p.ConnectionDrain.Timeout, r.Min, r.Max)
	}
	if sp := p.SessionPersistence; sp != nil {
		if err := CheckOneOf("session_persistence.type", sp.Type, []string{"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"}); err != nil {
			return err
		}
		if sp.Type == "APP_COOKIE" && sp.CookieName == "" {
			return apierr.Invalid("session_persistence.cookie_name is required when session_persistence.type is APP_COOKIE")
		}
		if sp.PersistenceTimeout < 0 || sp.PersistenceTimeout > 1440 {
			return apierr.Invalid("session_persistence.persistence_timeout %d is out of range; use 1-1440 minutes", sp.PersistenceTimeout)
		}
	}
	return nil
}

// CheckPoolType checks that a pool's type admits a member of memberType: an "ip" pool takes only
// IP-type members, an "instance" pool only members with a subnet, an untyped pool both.
func CheckPoolType(p Pool, memberType string) error {
	switch {
	case p.Type == PoolTypeIP && memberType != MemberTypeIP:
		return apierr.Invalid("pool %s is of type ip and takes only IP-type members; leave subnet_cidr_id empty, or use a pool of type instance", p.ID)
	case p.Type == PoolTypeInstance && memberType != MemberTypeInstance:
		return apierr.Invalid("pool %s is of type instance and takes only members with a subnet; set subnet_cidr_id, or use a pool of type ip for IP-type members", p.ID)
	}
	return nil
}

// CheckMember checks a member against its pool, the pool's load balancer and the address plan:
//   - the address must lie in the named subnet, and that subnet in the load balancer's VPC;
//   - a member without a subnet is an IP-type (cross-VPC) member: a private address, allowed only
//     on a dedicated load balancer with ip_target_enable and in a TCP, HTTP or HTTPS pool;
//   - the pool's type must admit the member; the weight is 0-100.
func CheckMember(m Member, p Pool, lb LoadBalancer, net *config.Network) error {
	subnetField := "subnet_cidr_id"
	if m.Family == FamilyV2 {
		subnetField = "subnet_id"
	}
	addr, err := netip.ParseAddr(m.Address)
	if err != nil || !addr.Is4() {
		return apierr.Invalid("address %q is not an IPv4 address", m.Address)
	}
	if err := CheckPort("protocol_port", m.ProtocolPort); err != nil {
		return err
	}
	if err := CheckWeight(m.Weight); err != nil {
		return err
	}
	if err := CheckText("name", m.Name, MaxNameLen); err != nil {
		return err
	}
	if m.SubnetID != "" {
		s, ok := net.Subnet(m.SubnetID)
		if !ok {
			return apierr.Invalid("%s %q is not a known subnet; use the ID of a subnet in elbd's config", subnetField, m.SubnetID)
		}
		if !s.Prefix.Contains(addr) {
			return apierr.Invalid("address %s is not in subnet %s (%s); use an address of that subnet or name the subnet it belongs to", m.Address, s.ID, s.Prefix)
		}
		if s.VPCID != lb.VPCID {
			hint := "use a subnet of that VPC"
			if m.Family == FamilyV3 {
				hint += ", or leave " + subnetField + " empty to add an IP-type (cross-VPC) member on a load balancer with ip_target_enable"
			}
			return apierr.Invalid("subnet %s is in VPC %s, but load balancer %s is in VPC %s; %s", s.ID, s.VPCID, lb.ID, lb.VPCID, hint)
		}
	} else {
		if m.Family == FamilyV2 {
			return apierr.Invalid("subnet_id is required: shared (v2) load balancers have no IP-type members")
		}
		if !lb.IPTargetEnable {
			return apierr.Invalid("member %s without %s is an IP-type member, which needs ip_target_enable on load balancer %s; enable it, or set %s",
				m.Address, subnetField, lb.ID, subnetField)
		}
		if !addr.IsPrivate() && !addr.IsLoopback() {
			return apierr.Invalid("IP-type member address %s must be a private IPv4 address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, or 127.0.0.0/8 on this host)", m.Address)
		}
		if p.Protocol != ProtocolTCP && p.Protocol != ProtocolHTTP && p.Protocol != ProtocolHTTPS {
			return apierr.Invalid("IP-type members (no %s) are allowed only in TCP, HTTP or HTTPS pools; pool %s is %s", subnetField, p.ID, p.Protocol)
		}
	}
	return CheckPoolType(p, m.MemberType())
}

func memberKey(address string, port int) string { return address + ":" + strconv.Itoa(port) }

// MonitorTypes are the health monitor types each family accepts.
var MonitorTypes = map[Family][]string{
	FamilyV3: {elbrules.MonitorTCP, elbrules.MonitorUDPConnect, elbrules.MonitorHTTP, elbrules.MonitorHTTPS},
	FamilyV2: {elbrules.MonitorTCP, elbrules.MonitorUDPConnect, elbrules.MonitorHTTP},
}

// CheckHealthMonitor checks a monitor's fields and that its type suits the pool: a UDP pool is
// checked with UDP_CONNECT, any other pool with a TCP-based check.
func CheckHealthMonitor(h HealthMonitor, p Pool) error {
	if err := CheckOneOf("type", h.Type, MonitorTypes[h.Family]); err != nil {
		return err
	}
	udpPool := p.Protocol == ProtocolUDP || p.Protocol == ProtocolQUIC
	if udpPool != (h.Type == elbrules.MonitorUDPConnect) {
		if udpPool {
			return apierr.Invalid("pool %s is %s; its health monitor must be of type UDP_CONNECT", p.ID, p.Protocol)
		}
		return apierr.Invalid("health monitor type UDP_CONNECT checks UDP pools only; pool %s is %s, use TCP or HTTP", p.ID, p.Protocol)
	}
	ranges := []struct {
		name string
		v    int
		r    elbrules.Range
	}{{"delay", h.Delay, elbrules.MonitorDelay}, {"timeout", h.Timeout, elbrules.MonitorTimeout},
		{"max_retries", h.MaxRetries, elbrules.MonitorMaxRetries}, {"max_retries_down", h.MaxRetriesDown, elbrules.MonitorMaxRetriesDown}}
	for _, r := range ranges {
		if !r.r.Contains(r.v) {
			return apierr.Invalid("%s %d is out of range; use %d-%d", r.name, r.v, r.r.Min, r.r.Max)
		}
	}
	if h.MonitorPort != 0 {
		if err := CheckPort("monitor_port", h.MonitorPort); err != nil {
			return err
		}
	}
	if err := CheckText("name", h.Name, MaxNameLen); err != nil {
		return err
	}
	if h.Type == elbrules.MonitorHTTP || h.Type == elbrules.MonitorHTTPS {
		if !strings.HasPrefix(h.URLPath, "/") {
			return apierr.Invalid("url_path %q must start with '/'", h.URLPath)
		}
		if err := CheckExpectedCodes(h.ExpectedCodes); err != nil {
			return err
		}
		if err := CheckOneOf("http_method", h.HTTPMethod, []string{"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}); err != nil {
			return err
		}
	}
	return nil
}

// CheckExpectedCodes checks an expected_codes value: a code ("200"), a list ("200,202") or a
// range ("200-204") of HTTP status codes 200-599.
func CheckExpectedCodes(s string) error {
	bad := apierr.Invalid("expected_codes %q is invalid; write a code (200), a list (200,202) or a range (200-204) of codes 200-599", s)
	if s == "" {
		return bad
	}
	code := func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 200 && n <= 599
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := code(lo)
		if !ok {
			return bad
		}
		if isRange {
			b, ok := code(hi)
			if !ok || b < a {
				return bad
			}
		}
	}
	return nil
}

// CheckLoadBalancer checks a load balancer's own fields and its VIP against the address plan.
func CheckLoadBalancer(lb LoadBalancer, net *config.Network) (config.Subnet, error) {
	field := "vip_subnet_cidr_id"
	if lb.Family == FamilyV2 {
		field = "vip_subnet_id"
	}
	if err := CheckText("name", lb.Name, MaxNameLen); err != nil {
		return config.Subnet{}, err
	}
	if err := CheckText("description", lb.Description, MaxDescriptionLen); err != nil {
		return config.Subnet{}, err
	}
	if err := CheckTags(lb.Tags); err != nil {
		return config.Subnet{}, err
	}
	if lb.VIPSubnetID == "" {
		return config.Subnet{}, apierr.Invalid("%s is required: name the subnet the VIP is taken from", field)
	}
	s, ok := net.Subnet(lb.VIPSubnetID)
	if !ok {
		return config.Subnet{}, apierr.NotFound("subnet %s could not be found; %s must be the ID of a subnet in elbd's config", lb.VIPSubnetID, field)
	}
	if lb.Family == FamilyV2 && lb.IPTargetEnable {
		return config.Subnet{}, apierr.Invalid("ip_target_enable is supported by dedicated (v3) load balancers only")
	}
	if lb.VIPAddress != "" {
		a, err := netip.ParseAddr(lb.VIPAddress)
		if err != nil || !a.Is4() {
			return s, apierr.Invalid("vip_address %q is not an IPv4 address", lb.VIPAddress)
		}
		if !config.UsableVIP(s, a) {
			return s, apierr.Invalid("vip_address %s is not a usable address of subnet %s (%s); the network, gateway (first) and broadcast addresses are reserved",
				lb.VIPAddress, s.ID, s.Prefix)
		}
	}
	return s, nil
}

// CheckPoolChange checks what an update may not do to a pool: type may be set only while it is
// empty, never changed or cleared ("只有type为空时允许更新，不允许从非空更新为空",
// services/elb/v3/model/model_update_pool_option.go). E6h.
func CheckPoolChange(old, nv Pool) error {
	if old.Type != PoolTypeAny && nv.Type != old.Type {
		return apierr.Invalid("pool %s is of type %s; a pool's type can be set only while it is empty, and not changed after", old.ID, old.Type)
	}
	return nil
}

// CheckMemberRemoval refuses a call that would remove members of a pool with
// member_deletion_protection_enable (model_create_pool_option.go: member delete, batch delete,
// pool cascade, listener force, load balancer force are all refused). E6c.
func CheckMemberRemoval(p Pool, call string) error {
	if p.MemberDeletionProtection {
		return apierr.Conflict("pool %s has member_deletion_protection_enable, which refuses %s; turn the protection off on the pool first", p.ID, call)
	}
	return nil
}

// CheckIPTargetChange refuses turning ip_target_enable off once it is on (E6d; "开启后不能关闭",
// services/elb/v3/model/model_create_load_balancer_option.go ip_target_enable).
func CheckIPTargetChange(old, nv LoadBalancer) error {
	if old.IPTargetEnable && !nv.IPTargetEnable {
		return apierr.Invalid("ip_target_enable cannot be turned off once it is on (load balancer %s); leave it true", old.ID)
	}
	return nil
}

func errNotFound(kind, id string) error {
	return apierr.NotFound("%s %s could not be found", kind, id)
}

func errInUse(kind, id, format string, a ...any) error {
	return apierr.Conflict("%s %s is in use: %s", kind, id, fmt.Sprintf(format, a...))
}
