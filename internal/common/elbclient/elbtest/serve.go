package elbtest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Options shape the elbd that Serve serves; the zero value answers at once, with no front.
type Options struct {
	// ProvisioningDelay is elbd's --provisioning-delay (BusyHandler).
	ProvisioningDelay time.Duration
	// Front, when set, stands between the clients and elbd's API: faults the test injects.
	Front func(elbd http.Handler) http.Handler
}

// Server is elbd's API served over HTTP on a loopback port until the test ends, counting the
// requests it answers; its clients talk to it through the official SDK.
type Server struct {
	// URL is the endpoint clients call, http://127.0.0.1:port.
	URL string
	// Store is elbd's store, to seed (load balancers are made by operators, never by fleetlb) or
	// read back.
	Store *store.Store
	// Faults is elbd's own fault injector when the configuration has a faults: section, else nil.
	Faults *faults.Injector
	// Reads and Writes count the GET and the other requests this server answered.
	Reads, Writes atomic.Int64

	handler http.Handler // elbd's API behind the front, for Another
}

// Serve serves the elbd of the configuration cfgText (as Handler) for the test.
func Serve(t testing.TB, cfgText string, o Options) *Server {
	t.Helper()
	elbd := elbdtest.Start(t, cfgText, elbdtest.Options{ProvisioningDelay: o.ProvisioningDelay})
	h := elbd.Handler()
	if o.Front != nil {
		h = o.Front(h)
	}
	return serve(t, &Server{Store: elbd.Store, Faults: elbd.Faults(), handler: h})
}

// Another serves the same elbd at another address with counts of its own: one per client, to
// tell their calls apart.
func (s *Server) Another(t testing.TB) *Server {
	t.Helper()
	return serve(t, &Server{Store: s.Store, Faults: s.Faults, handler: s.handler})
}

// Handler is the elbd API behind the server (behind its front, if any), for a test's own door
// to it.
func (s *Server) Handler() http.Handler { return s.handler }

func serve(t testing.TB, s *Server) *Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.Reads.Add(1)
		} else {
			s.Writes.Add(1)
		}
		s.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Client is an SDK client of the server (cfg.Endpoint is set to its URL).
func (s *Server) Client(t testing.TB, cfg elbclient.Config) *elbclient.SDK {
	t.Helper()
	cfg.Endpoint = s.URL
	c, err := elbclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// LoadBalancer creates lb in the store, as an operator makes one (fleetlb never does, R10).
func (s *Server) LoadBalancer(t testing.TB, family store.Family, project string, lb store.LoadBalancer) store.LoadBalancer {
	t.Helper()
	lb.AdminStateUp = true
	made, err := s.Store.CreateLoadBalancer(store.Scope{Family: family, ProjectID: project}, lb)
	if err != nil {
		t.Fatal(err)
	}
	return made
}
