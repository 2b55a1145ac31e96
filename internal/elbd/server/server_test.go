package server_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
)

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

// Metrics come from the real data plane; with a stand-in, Serve says so instead of serving 404s.
func TestServeMetricsNeedTheRealDataPlane(t *testing.T) {
	cfg, err := config.Parse([]byte("credentials:\n  - {accessKey: AK1, secretKey: SK1, projectID: p1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{Config: cfg, DataDir: t.TempDir(), DataPlane: api.NopDataPlane{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Serve(context.Background(), ln, mln)
	if err == nil || !strings.Contains(err.Error(), "real data plane") {
		t.Fatalf("Serve = %v; want the missing data plane named", err)
	}
}
