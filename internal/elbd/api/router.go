// Package api is elbd's HTTP front: it assigns request IDs, authenticates every call, serves the
// v3 (dedicated ELB) API and mounts the v2 (shared ELB) handler, and tells the data plane about
// every committed write.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/common/apiop"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Options wires the router.
type Options struct {
	// Store holds the state; required.
	Store *store.Store
	// Auth checks every request's signature and project; required.
	Auth Authenticator
	// DataPlane is told about writes and asked for statuses; nil means NopDataPlane.
	DataPlane DataPlane
	// VPC serves the VPC API's GET /v1/{project_id}/subnets (internal/elbd/api/vpc); nil answers 404.
	VPC http.Handler
	// V2 serves /v2/{project_id}/elb/... (internal/elbd/api/v2). It receives requests already
	// authenticated, carrying apierr.RequestID and apierr.ProjectID; nil answers 404 for /v2.
	V2 http.Handler
	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives elbd_api_requests_total and elbd_api_request_duration_seconds.
	Metrics prometheus.Registerer
}

// NewRouter returns the HTTP handler of the whole API.
func NewRouter(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("api: Options.Store is required")
	}
	if o.Auth == nil {
		return nil, errors.New("api: Options.Auth is required")
	}
	if o.DataPlane == nil {
		o.DataPlane = NopDataPlane{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rt := &router{o: o, v3: newV3(o.Store, o.DataPlane)}
	if o.Metrics != nil {
		m, err := newRequestMetrics(o.Metrics)
		if err != nil {
			return nil, err
		}
		rt.metrics = m
	}
	return rt, nil
}

type router struct {
	o       Options
	v3      *http.ServeMux
	metrics *requestMetrics // nil: not counted
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := apierr.NewRequestID()
	r = apierr.WithRequestID(r, id)
	w.Header().Set(apierr.HeaderRequestID, id)
	rec := &statusRecorder{ResponseWriter: w}
	op := rt.serve(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rt.metrics.observe(op, rec.status, time.Since(start))
	rt.o.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"request_id", id, "duration", time.Since(start).Round(time.Microsecond))
	if rec.status < 300 && r.Method != http.MethodGet && r.Method != http.MethodHead {
		rt.o.DataPlane.Sync()
	}
}

// serve answers r and returns its operation for the metrics (apiop.Name), opUnknown for a path
// no API serves or opUnauthenticated for a request refused before it was routed.
func (rt *router) serve(w http.ResponseWriter, r *http.Request) string {
	// /{v2|v3}/{project_id}/elb/...
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 4)
	// The v3 tag APIs have no /elb/: /v3/{project_id}/{loadbalancers|listeners}/...
	// and the v2 listener tag APIs /v2.0/{project_id}/listeners/{id}/tags... (internal/elbd/api/v2/tags.go).
	tagAPI := len(parts) >= 3 && (parts[0] == "v3" && isTagPath(parts[2]) || parts[0] == "v2.0" && parts[2] == "listeners")
	// The VPC API's list of subnets: /v1/{project_id}/subnets.
	vpcAPI := len(parts) == 3 && parts[0] == "v1" && parts[1] != "" && parts[2] == "subnets" && rt.o.VPC != nil
	if !vpcAPI && (len(parts) < 3 || (parts[0] != "v2" && parts[0] != "v3" && !tagAPI) || parts[1] == "" || (parts[2] != "elb" && !tagAPI) || (len(parts) < 4 && !tagAPI)) {
		apierr.Write(w, r, &apierr.Error{Status: http.StatusNotFound, Code: apierr.CodeAPINotExist,
			Msg: "no such API: " + r.Method + " " + r.URL.Path + "; elbd serves /v3/{project_id}/elb/..., /v2/{project_id}/elb/..., the tags at /v3/{project_id}/{loadbalancers,listeners}/... and /v2.0/{project_id}/listeners/..., and GET /v1/{project_id}/subnets"})
		return opUnknown
	}
	project := parts[1]
	if err := rt.o.Auth.Authenticate(r, project); err != nil {
		var se apierr.StatusError
		if !errors.As(err, &se) {
			err = &apierr.Error{Status: http.StatusUnauthorized, Code: apierr.CodeUnauthorized, Msg: err.Error()}
		}
		rt.o.Logger.Warn("request refused", "method", r.Method, "path", r.URL.Path, "request_id", apierr.RequestID(r), "reason", err.Error())
		apierr.Write(w, r, err)
		return opUnauthenticated
	}
	r = apierr.WithProjectID(r, project)
	var h http.Handler
	if vpcAPI {
		h = rt.o.VPC
	} else if parts[0] == "v3" {
		if _, pattern := rt.v3.Handler(r); pattern != "" {
			h = rt.v3 // the mux itself, so handlers see r.PathValue
		}
	} else {
		h = rt.o.V2
	}
	if h == nil {
		apierr.Write(w, r, &apierr.Error{Status: http.StatusNotFound, Code: apierr.CodeAPINotExist,
			Msg: "no such API: " + r.Method + " " + r.URL.Path})
		return opUnknown
	}
	h.ServeHTTP(w, r)
	// The muxes record the route they matched on r: only routed requests name their operation,
	// so that the label's values stay as few as the API's operations, whatever clients send.
	if r.Pattern == "" && !vpcAPI {
		return opUnknown
	}
	return apiop.Name(r.Method, r.URL.Path)
}
