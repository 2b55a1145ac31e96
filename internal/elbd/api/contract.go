package api

import (
	"net/http"
)

// Authenticator decides whether a request may act in projectID (the {project_id} of its path).
// internal/elbd/auth implements it (SDK-HMAC-SHA256). The error it returns must carry an HTTP
// status via apierr.StatusError: 401 for a missing/wrong signature, unknown key or stale date,
// 403 for a key acting outside its project. Any other error is answered with 401.
type Authenticator interface {
	Authenticate(r *http.Request, projectID string) error
}

// DataPlane is the traffic side of elbd, as the API sees it.
type DataPlane interface {
	// Sync is called after every committed write (and once at start), so traffic follows the API within 100 ms.
	Sync()
	// MemberStatus is a member's operating_status (E4): NO_MONITOR, INITIAL, ONLINE, OFFLINE or
	// UNKNOWN, as documented in services/elb/v3/model/model_member.go.
	MemberStatus(memberID string) string
	// ListenerStatus is ONLINE, or OFFLINE when its VIP:port cannot be served.
	ListenerStatus(listenerID string) string
	// ListenerDataPlane says what serves a listener's traffic: "kernel", "proxy", or "proxy
	// (LEAST_CONNECTIONS is served by the proxy, not the kernel)" under --dataplane kernel; ""
	// when nothing serves it. elbd's own: the status tree's elbd_dataplane (K10), the console.
	ListenerDataPlane(listenerID string) string
}

// NopDataPlane serves no traffic: members without a monitor are NO_MONITOR, with one ONLINE is
// not claimed (it reports NO_MONITOR too), listeners ONLINE. elbd uses it when no data plane is wired.
type NopDataPlane struct{}

// Sync does nothing.
func (NopDataPlane) Sync() {}

// MemberStatus is always NO_MONITOR.
func (NopDataPlane) MemberStatus(string) string { return "NO_MONITOR" }

// ListenerStatus is always ONLINE.
func (NopDataPlane) ListenerStatus(string) string { return "ONLINE" }

// ListenerDataPlane is "": no data plane serves traffic.
func (NopDataPlane) ListenerDataPlane(string) string { return "" }
