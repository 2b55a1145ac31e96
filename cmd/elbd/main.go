// Command elbd is an ELB-compatible API server: the Huawei Cloud ELB REST API (v3 dedicated and
// v2 shared, the subset fleetlb needs), a bbolt store and a data plane.
//
//	elbd --config FILE --data-dir DIR [--api-address 127.0.0.1:9080] [--tls-cert FILE --tls-key FILE]
//	     [--metrics-address ADDR] [--console-address 127.0.0.1:9090]
//	     [--dataplane proxy|kernel --netns NAME]
//
// --dataplane kernel serves TCP and UDP listeners with nftables rules (DNAT, conntrack) in elbd's
// own table of the network namespace NAME instead of the userspace proxy (docs/kernel-dataplane.md).
// elbd runs inside NAME, API included: started elsewhere, it creates NAME if missing and starts
// itself again inside it. Without CAP_NET_ADMIN it says so and serves with the proxy.
//
// The API is served over HTTPS with --tls-cert and --tls-key; plain HTTP only on a loopback
// address, unless --insecure-http.
//
// It runs until SIGTERM or SIGINT, then stops accepting requests, lets running ones finish and
// closes the store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/program"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/netns"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
)

func main() {
	program.Main("elbd", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stderr, nil) })
}

// flags are elbd's command line.
type flags struct {
	config     string
	dataDir    string
	apiAddress string
	metrics    string
	console    string
	logLevel   string
	provDelay  time.Duration
	tlsCert    string
	tlsKey     string
	insecure   bool
	dataplane  string
	netns      string
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("elbd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.config, "config", "", "YAML config file: credentials and vpcs (required)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory of the store file (required; created if missing)")
	fs.StringVar(&f.apiAddress, "api-address", "127.0.0.1:9080", "host:port the API listens on")
	fs.StringVar(&f.metrics, "metrics-address", "", "host:port serving Prometheus metrics at /metrics (off when empty)")
	fs.StringVar(&f.console, "console-address", "", "host:port serving the web console (log in with an access key and its secret key; off when empty)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.provDelay, "provisioning-delay", 0, "how long a shared (v2) load balancer stays PENDING_* after a write, refusing other writes with 409, as the real one does (0: synchronous)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve the API over HTTPS with; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.BoolVar(&f.insecure, "insecure-http", false, "serve plain HTTP on a non-loopback --api-address (without it, plain HTTP is served on loopback addresses only)")
	fs.StringVar(&f.dataplane, "dataplane", "proxy", "proxy (userspace, every algorithm) or kernel (nftables DNAT in --netns; LEAST_CONNECTIONS listeners stay on the proxy)")
	fs.StringVar(&f.netns, "netns", "", "network namespace (as `ip netns` names it) elbd runs in, created if missing; required by --dataplane kernel")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q; elbd takes only flags (see --help)", fs.Arg(0))
	case f.config == "":
		return f, errors.New("--config is required: the YAML file with credentials and vpcs")
	case f.dataDir == "":
		return f, errors.New("--data-dir is required: where elbd keeps its state")
	case f.dataplane != "proxy" && f.dataplane != "kernel":
		return f, fmt.Errorf("--dataplane %q: use proxy or kernel", f.dataplane)
	case f.dataplane == "kernel" && f.netns == "":
		return f, errors.New("--dataplane kernel needs --netns NAME: its rules live in a network namespace of their own, never the host's")
	}
	if f.tlsCert == "" && f.tlsKey == "" {
		if err := server.CheckPlainHTTP(f.apiAddress, f.insecure); err != nil {
			return f, err
		}
		if f.console != "" {
			if err := server.CheckConsolePlainHTTP(f.console, f.insecure); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

// run serves until ctx is done. ready, if not nil, receives the API's address once it listens.
func run(ctx context.Context, args []string, logOut io.Writer, ready chan<- string) error {
	f, err := parseFlags(args, logOut)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))

	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	kernel := f.dataplane == "kernel"
	if kernel && !netns.HasNetAdmin() {
		log.Warn("--dataplane kernel needs CAP_NET_ADMIN (run elbd as root or grant it the capability): every listener is served by the proxy, in this network namespace")
		kernel = false
	} else if f.netns != "" {
		if err := netns.Enter(f.netns); err != nil { // returns at once when inside it already
			return err
		}
	}
	srv, err := server.New(server.Options{Config: cfg, DataDir: f.dataDir, Logger: log, ProvisioningDelay: f.provDelay,
		TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey, InsecureHTTP: f.insecure, Console: f.console != "", KernelDataPlane: kernel})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Error("closing", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", f.apiAddress)
	if err != nil {
		return fmt.Errorf("--api-address %s: %w", f.apiAddress, err)
	}
	var mln net.Listener
	if f.metrics != "" {
		if mln, err = net.Listen("tcp", f.metrics); err != nil {
			_ = ln.Close()
			return fmt.Errorf("--metrics-address %s: %w", f.metrics, err)
		}
		log.Info("metrics serving", "address", "http://"+mln.Addr().String()+"/metrics")
	}
	var cln net.Listener
	if f.console != "" {
		if cln, err = net.Listen("tcp", f.console); err != nil {
			_ = ln.Close()
			if mln != nil {
				_ = mln.Close()
			}
			return fmt.Errorf("--console-address %s: %w", f.console, err)
		}
		log.Info("console serving", "address", srv.Scheme()+"://"+cln.Addr().String()+"/")
	}
	log.Info("elbd serving", "api", srv.Scheme()+"://"+ln.Addr().String(), "data_dir", f.dataDir,
		"credentials", len(cfg.Credentials), "vpcs", len(cfg.VPCs))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := srv.ServeWith(ctx, server.Listeners{API: ln, Metrics: mln, Console: cln}); err != nil {
		return err
	}
	log.Info("elbd stopped")
	return nil
}
