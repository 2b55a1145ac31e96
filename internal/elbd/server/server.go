// Package server builds one elbd: the store in its data directory, the SDK-HMAC verifier over the
// configuration's credentials, the v3 and v2 API routers and the data plane kept in step with the
// store. cmd/elbd, the tests (internal/elbd/elbdtest, internal/common/elbclient/elbtest) and so
// the playground (which runs cmd/elbd) all build elbd through New, so they serve the same thing.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	apiv2 "github.com/fleetlb/fleetlb/internal/elbd/api/v2"
	"github.com/fleetlb/fleetlb/internal/elbd/api/vpc"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/console"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/elbd/throttle"
)

// Options is everything that shapes one elbd.
type Options struct {
	// Config holds the credentials and the VPCs; required.
	Config *config.Config
	// DataDir is the directory of the store file (created if missing); required.
	DataDir string
	// Logger receives elbd's logs, one line per request among them; nil discards them.
	Logger *slog.Logger
	// DataPlane, when set, stands in for the real data plane: it is told about every write and
	// answers the operating statuses of both API versions (tests pass api.NopDataPlane{} or a
	// fake). nil runs the real one: internal/elbd/dataplane kept in step with the store by
	// internal/elbd/runtime.
	DataPlane api.DataPlane
	// ProvisioningDelay, when above 0, makes the shared (v2) load balancers asynchronous as on the
	// real cloud (E2): PENDING_* for this long after each write, other writes to the same load
	// balancer refused 409 meanwhile. 0 keeps v2 synchronous; v3 always is.
	ProvisioningDelay time.Duration
	// TLSCertFile and TLSKeyFile, both or neither, are the PEM certificate (chain) and key Serve
	// serves the API with over HTTPS (F1). Without them the API is plain HTTP, which Serve allows
	// on a loopback address only, unless InsecureHTTP.
	TLSCertFile, TLSKeyFile string
	// InsecureHTTP lets Serve serve plain HTTP on a non-loopback address (--insecure-http).
	InsecureHTTP bool
	// Console builds the web console (internal/elbd/console), which ServeWith serves on
	// Listeners.Console (--console-address): like the API, over HTTPS with the certificate, else
	// plain HTTP on a loopback address only unless InsecureHTTP.
	Console bool
	// KernelDataPlane serves TCP and UDP listeners with nftables rules in the network namespace
	// elbd runs in (--dataplane kernel, K1); the proxy serves them otherwise.
	KernelDataPlane bool
}

// Server is one elbd: its state and its HTTP API. Close it when done.
type Server struct {
	Config *config.Config
	Store  *store.Store
	// Faults is the test-only fault injector in front of the API (F6), nil unless the config
	// has a faults: section.
	Faults *faults.Injector
	// real is the real data plane; nil when Options.DataPlane stood in for it.
	real realDataPlane
	// metrics holds what /metrics serves: the API's requests, the data plane's counters and
	// health transitions (when real), Go and process metrics.
	metrics *prometheus.Registry
	log     *slog.Logger
	handler http.Handler
	// console is the web console; nil unless Options.Console.
	console http.Handler
	// tls is the API's TLS configuration; nil serves plain HTTP.
	tls          *tls.Config
	insecureHTTP bool
}

// realDataPlane is the data plane kept in step with the store (internal/elbd/runtime over
// internal/elbd/dataplane), which runs on Linux only: newRealDataPlane is in server_linux.go.
type realDataPlane interface {
	api.DataPlane
	Collector() prometheus.Collector
	Close() error
}

// New opens the store in o.DataDir and wires the API over it. With the real data plane, traffic
// follows the stored state before New returns.
func New(o Options) (*Server, error) {
	if o.Config == nil {
		return nil, errors.New("elbd: Options.Config is required")
	}
	if o.DataDir == "" {
		return nil, errors.New("elbd: Options.DataDir is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// TLS and the verifier first: a configuration they refuse leaves no store file behind.
	tlsConf, err := loadTLS(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(o.Config.Credentials)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	st, err := store.Open(o.DataDir, o.Config.Network(), store.WithQuotas(o.Config.QuotaPlan()))
	if err != nil {
		return nil, err
	}
	s := &Server{Config: o.Config, Store: st, log: log, tls: tlsConf, insecureHTTP: o.InsecureHTTP, metrics: prometheus.NewRegistry()}
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dp := o.DataPlane
	if dp == nil {
		if s.real, err = newRealDataPlane(st, log, o.KernelDataPlane); err != nil {
			_ = st.Close()
			return nil, err
		}
		dp = s.real
		s.metrics.MustRegister(s.real.Collector())
	}
	// Each access key is held to its rateLimit (none unless configured) once its signature checks out (E3).
	var authn api.Authenticator = throttle.Authenticator{Verifier: verifier, Limiter: throttle.New(o.Config.RateLimitFor)}
	if o.Console {
		authn = console.Trust(authn) // the console's in-process calls act in its session's project
	}
	s.handler, err = api.NewRouter(api.Options{Store: st, Auth: authn, DataPlane: dp, V2: apiv2.New(st, dp, apiv2.WithProvisioningDelay(o.ProvisioningDelay)), VPC: vpc.Handler(o.Config), Logger: log, Metrics: s.metrics})
	if err == nil && o.Console {
		s.console, err = console.New(console.Options{Store: st, API: s.handler, Credentials: o.Config.Credentials, ClusterNames: o.Config.ClusterNames, DataPlane: dp, Logger: log})
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	if o.Config.Faults != nil {
		s.Faults = faults.New(s.handler, o.Config.Faults, log)
		s.handler = s.Faults
		log.Warn("fault injection on (config faults:): some API calls are answered with injected faults; for tests only",
			"seed", o.Config.Faults.Seed, "busy", o.Config.Faults.Busy, "serverError", o.Config.Faults.ServerError,
			"throttle", o.Config.Faults.Throttle, "timeout", o.Config.Faults.Timeout, "lostResponse", o.Config.Faults.LostResponse)
	}
	return s, nil
}

// loadTLS reads the API's certificate and key; neither file means plain HTTP (nil).
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, errors.New("elbd: --tls-cert and --tls-key go together: give both (HTTPS) or neither (plain HTTP, loopback only)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("elbd: --tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// CheckPlainHTTP decides whether the API may be served over plain HTTP on address (host:port):
// only on a loopback address (127.0.0.0/8, ::1, localhost), where no one else can read the signed
// requests, unless insecure (--insecure-http). An empty host or an unspecified address (0.0.0.0,
// ::) listens on every interface, so it is not loopback; nor is a name other than localhost.
func CheckPlainHTTP(address string, insecure bool) error {
	return checkPlainHTTP("the API", "--api-address", address, insecure)
}

// CheckConsolePlainHTTP is CheckPlainHTTP for the web console, whose login form carries a secret key.
func CheckConsolePlainHTTP(address string, insecure bool) error {
	return checkPlainHTTP("the web console", "--console-address", address, insecure)
}

func checkPlainHTTP(what, flag, address string, insecure bool) error {
	if insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("elbd: refusing to serve %s over plain HTTP on %s, which is not a loopback address: "+
		"give --tls-cert and --tls-key to serve HTTPS, or listen on a loopback address (%s 127.0.0.1:PORT), "+
		"or pass --insecure-http to serve plain HTTP there anyway", what, address, flag)
}

// Scheme is how clients reach the API: https with a certificate, else http.
func (s *Server) Scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// Handler is the whole HTTP API: /v3/{project_id}/elb/... and /v2/{project_id}/elb/....
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves elbd's metrics in the Prometheus text format (Serve's metrics listener).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
}

// ConsoleHandler is the web console; nil unless Options.Console.
func (s *Server) ConsoleHandler() http.Handler { return s.console }

// Listeners are what ServeWith serves: the API (required), and optionally Prometheus metrics and
// the web console.
type Listeners struct {
	API, Metrics, Console net.Listener
}

// shutdownTimeout is how long Serve lets running requests finish once asked to stop.
const shutdownTimeout = 10 * time.Second

// Serve serves the API on apiLn and, when metricsLn is not nil, Prometheus metrics at /metrics
// on it, until ctx is done or serving fails. Then it stops accepting requests and lets running
// ones finish. It closes the listeners, not the server.
func (s *Server) Serve(ctx context.Context, apiLn, metricsLn net.Listener) error {
	return s.ServeWith(ctx, Listeners{API: apiLn, Metrics: metricsLn})
}

// ServeWith is Serve with the web console on ls.Console too, when not nil.
func (s *Server) ServeWith(ctx context.Context, ls Listeners) error {
	apiLn, metricsLn := ls.API, ls.Metrics
	closeAll := func() {
		for _, ln := range []net.Listener{ls.API, ls.Metrics, ls.Console} {
			if ln != nil {
				_ = ln.Close()
			}
		}
	}
	if s.tls != nil {
		apiLn = tls.NewListener(apiLn, s.tls)
	} else if err := CheckPlainHTTP(apiLn.Addr().String(), s.insecureHTTP); err != nil {
		closeAll()
		return err
	}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	servers := []*http.Server{{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}}
	listeners := []net.Listener{apiLn}
	if ls.Console != nil {
		consoleLn := ls.Console
		switch {
		case s.console == nil:
			closeAll()
			return errors.New("elbd: a console listener was given but the console is off (Options.Console)")
		case s.tls != nil:
			consoleLn = tls.NewListener(consoleLn, s.tls)
		default:
			if err := CheckConsolePlainHTTP(consoleLn.Addr().String(), s.insecureHTTP); err != nil {
				closeAll()
				return err
			}
		}
		servers = append(servers, &http.Server{Handler: s.console, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog})
		listeners = append(listeners, consoleLn)
	}
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.MetricsHandler())
		if s.Faults != nil {
			reg := prometheus.NewRegistry()
			reg.MustRegister(s.Faults)
			mux.Handle("GET /metrics/faults", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		}
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog})
		listeners = append(listeners, metricsLn)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("elbd stopping")
	if s.Faults != nil {
		s.log.Info("faults injected", "counts", s.Faults.String())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("stopping: %w", err)
		}
	}
	return serveErr
}

// Close stops the data plane (its listeners, health checks and connections), then closes the
// store. Stop serving first.
func (s *Server) Close() error {
	var errs []error
	if s.real != nil {
		if err := s.real.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing data plane: %w", err))
		}
	}
	if err := s.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing store: %w", err))
	}
	return errors.Join(errs...)
}
