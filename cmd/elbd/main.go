// Command elbd is an ELB-compatible API server: the Huawei Cloud ELB REST API (v3 dedicated and
// v2 shared, the subset fleetlb needs), a bbolt store and a data plane.
//
//	elbd --config FILE --data-dir DIR [--api-address 127.0.0.1:9080]
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
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "elbd:", err)
		os.Exit(1)
	}
}

// flags are elbd's command line.
type flags struct {
	config     string
	dataDir    string
	apiAddress string
	metrics    string
	logLevel   string
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("elbd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.config, "config", "", "YAML config file: credentials and vpcs (required)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory of the store file (required; created if missing)")
	fs.StringVar(&f.apiAddress, "api-address", "127.0.0.1:9080", "host:port the API listens on")
	fs.StringVar(&f.metrics, "metrics-address", "", "host:port serving Prometheus metrics at /metrics (off when empty)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
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
	st, err := store.Open(f.dataDir, cfg.Network())
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()
	verifier, err := auth.NewVerifier(cfg.Credentials)
	if err != nil {
		return fmt.Errorf("config %s: %w", f.config, err)
	}
	dp, closeDP, err := newDataPlane(st, log)
	if err != nil {
		return err
	}
	defer closeDP()

	handler, err := api.NewRouter(api.Options{Store: st, Auth: verifier, DataPlane: dp, V2: newV2(st, dp), Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.apiAddress)
	if err != nil {
		return fmt.Errorf("--api-address %s: %w", f.apiAddress, err)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	servers := []*http.Server{{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}}
	listeners := []net.Listener{ln}
	if f.metrics != "" {
		mln, err := net.Listen("tcp", f.metrics)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("--metrics-address %s: %w", f.metrics, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", dp.MetricsHandler())
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog})
		listeners = append(listeners, mln)
		log.Info("metrics serving", "address", "http://"+mln.Addr().String()+"/metrics")
	}
	dp.Sync() // traffic follows the stored state from the start
	log.Info("elbd serving", "api", "http://"+ln.Addr().String(), "data_dir", f.dataDir,
		"credentials", len(cfg.Credentials), "vpcs", len(cfg.VPCs))
	if ready != nil {
		ready <- ln.Addr().String()
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
	log.Info("elbd stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("stopping: %w", err)
		}
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("elbd stopped")
	return nil
}
