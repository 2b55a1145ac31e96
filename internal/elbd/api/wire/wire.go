// Package wire holds the request fields both API families (v3 in internal/elbd/api, v2 in
// internal/elbd/api/v2) take alike, under the same JSON keys, checks that a create gives the
// fields it requires (Required), and applies them to store records once. Every field is a
// pointer, so that a field left out is told apart from a zero value: a create applies a request
// to the defaults, an update to the stored values.
package wire

import (
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Set assigns *p to *dst when the request carried the field.
func Set[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// Or is the field's value, or def when the request left it out.
func Or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Field is one field a create requires: its key, whether the request gave it, and what it
// takes ("1-65535"), for the message.
type Field struct {
	name, takes string
	given       bool
}

// Given is a required field that must be present (null counts as absent).
func Given[T any](name string, p *T) Field { return Field{name: name, given: p != nil} }

// GivenText is a required text field that must be present and not empty.
func GivenText(name string, p *string) Field { return Field{name: name, given: p != nil && *p != ""} }

// Taking adds what the field takes to the message about it missing.
func (f Field) Taking(takes string) Field {
	f.takes = takes
	return f
}

// Required is a 400 for the first missing field of a create, named as both APIs name it:
// "<object>.<field> is required", then "(<what it takes>)" when that is known; nil when every
// field is given. object is the body's key, or the batch entry ("members[3]").
func Required(object string, fields ...Field) error {
	for _, f := range fields {
		switch {
		case f.given:
		case f.takes != "":
			return apierr.Invalid("%s.%s is required (%s)", object, f.name, f.takes)
		default:
			return apierr.Invalid("%s.%s is required", object, f.name)
		}
	}
	return nil
}

// Named are the fields of a load balancer, listener and pool: name, description, admin_state_up.
type Named struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	AdminStateUp *bool   `json:"admin_state_up"`
}

// Apply sets the fields the request carried; the others stay as they are.
func (n Named) Apply(name, description *string, adminStateUp *bool) {
	Set(name, n.Name)
	Set(description, n.Description)
	Set(adminStateUp, n.AdminStateUp)
}

// ListenerKey are the fields that place a new listener, alike in both APIs: its load balancer,
// protocol and port. None of them changes after the create.
type ListenerKey struct {
	LoadBalancerID *string `json:"loadbalancer_id"`
	Protocol       *string `json:"protocol"`
	ProtocolPort   *int    `json:"protocol_port"`
}

// PoolFields are a pool's fields that both APIs take alike: its protocol and algorithm, and the
// load balancer or listener it is created for.
type PoolFields struct {
	Protocol       *string `json:"protocol"`
	LBAlgorithm    *string `json:"lb_algorithm"`
	LoadBalancerID *string `json:"loadbalancer_id"`
	ListenerID     *string `json:"listener_id"`
}

// MemberChange are the member fields an update may change.
type MemberChange struct {
	Name         *string `json:"name"`
	Weight       *int    `json:"weight"`
	AdminStateUp *bool   `json:"admin_state_up"`
}

// Apply sets the fields the request carried.
func (c MemberChange) Apply(m *store.Member) {
	Set(&m.Name, c.Name)
	Set(&m.Weight, c.Weight)
	Set(&m.AdminStateUp, c.AdminStateUp)
}

// MemberFields are a member create's fields but its subnet, whose key differs between the APIs
// (v2 subnet_id, v3 subnet_cidr_id).
type MemberFields struct {
	Address      *string `json:"address"`
	ProtocolPort *int    `json:"protocol_port"`
	MemberChange
}

// New is the member the request creates in subnetID: the API's defaults (weight 1,
// admin_state_up true) and the fields given. Address and ProtocolPort must have been checked.
func (f MemberFields) New(subnetID string) store.Member {
	m := store.Member{Address: *f.Address, ProtocolPort: *f.ProtocolPort, SubnetID: subnetID, Weight: 1, AdminStateUp: true}
	f.MemberChange.Apply(&m)
	return m
}

// MonitorFields are the health monitor fields of both APIs (v3 adds max_retries_down and a
// monitor_port that null resets; the two APIs read monitor_port differently, so it is theirs).
type MonitorFields struct {
	PoolID        *string `json:"pool_id"`
	Type          *string `json:"type"`
	Delay         *int    `json:"delay"`
	Timeout       *int    `json:"timeout"`
	MaxRetries    *int    `json:"max_retries"`
	Name          *string `json:"name"`
	AdminStateUp  *bool   `json:"admin_state_up"`
	ExpectedCodes *string `json:"expected_codes"`
	DomainName    *string `json:"domain_name"`
	URLPath       *string `json:"url_path"`
	HTTPMethod    *string `json:"http_method"`
}

// Apply sets the fields the request carried but pool_id, which a monitor never changes: a
// create sets it, an update refuses a different one.
func (f MonitorFields) Apply(hm *store.HealthMonitor) {
	Set(&hm.Type, f.Type)
	Set(&hm.Delay, f.Delay)
	Set(&hm.Timeout, f.Timeout)
	Set(&hm.MaxRetries, f.MaxRetries)
	Set(&hm.Name, f.Name)
	Set(&hm.AdminStateUp, f.AdminStateUp)
	Set(&hm.ExpectedCodes, f.ExpectedCodes)
	Set(&hm.DomainName, f.DomainName)
	Set(&hm.URLPath, f.URLPath)
	Set(&hm.HTTPMethod, f.HTTPMethod)
}
