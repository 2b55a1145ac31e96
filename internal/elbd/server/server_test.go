package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/promtext"
	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
)

// newServer is server.New with a one-key configuration (AK1/SK1 in project p1), a temporary data
// directory and a stand-in data plane added to o; it is closed when the test ends.
func newServer(t *testing.T, o server.Options) *server.Server {
	t.Helper()
	cfg, err := config.Parse([]byte("credentials:\n  - {accessKey: AK1, secretKey: SK1, projectID: p1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o.Config, o.DataDir, o.DataPlane = cfg, t.TempDir(), api.NopDataPlane{}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// listen is a listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serve runs s.Serve on ln (and mln, nil for none) until the test ends, then checks that it
// returned cleanly.
func serve(t *testing.T, s *server.Server, ln, mln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, mln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	cfg := &config.Config{}
	for _, c := range []struct {
		o    server.Options
		want string
	}{
		{server.Options{DataDir: t.TempDir()}, "Options.Config is required"},
		{server.Options{Config: cfg}, "Options.DataDir is required"},
	} {
		if _, err := server.New(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v; want an error mentioning %q", c.o, err, c.want)
		}
	}
}

// A configuration the verifier refuses leaves no store behind.
func TestNewBadCredentialsLeavesNoStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := &config.Config{Credentials: []config.Credential{{AccessKey: "AK1", ProjectID: "p1"}}}
	_, err := server.New(server.Options{Config: cfg, DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "secretKey is empty") {
		t.Fatalf("New = %v; want the empty secretKey named", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s exists after a refused configuration (stat: %v)", dir, err)
	}
}

// Serve's metrics listener serves the API's request metrics even with a stand-in data plane (O7).
func TestServeMetricsWithAStandInDataPlane(t *testing.T) {
	s := newServer(t, server.Options{})
	ln, mln := listen(t), listen(t)
	serve(t, s, ln, mln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/v3/p1/elb/loadbalancers") // unsigned: 401
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	fams, err := promtext.Fetch(context.Background(), "http://"+mln.Addr().String()+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if n := fams.Sum("elbd_api_requests_total", map[string]string{"operation": "unauthenticated", "code": "401"}); n != 1 {
		t.Errorf("elbd_api_requests_total{operation=unauthenticated,code=401} = %v, want 1", n)
	}
}
