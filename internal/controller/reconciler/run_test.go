package reconciler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// An API server that answers /version like Kubernetes v1.22 is refused before anything starts (R12).
func TestNewManagerRefusesOldAPIServer(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"22","gitVersion":"v1.22.17","platform":"linux/amd64"}`))
	}))
	defer srv.Close()
	_, err := NewManager(context.Background(), Options{
		RestConfig: &rest.Config{Host: srv.URL}, Deployer: &fakeDeployer{},
		PodNetwork: model.PodNetworkOverlay, DefaultWeight: 100,
	})
	if !errors.Is(err, ErrTooOld) {
		t.Fatalf("want ErrTooOld, got %v", err)
	}
	for _, w := range []string{"v1.22.17", "v1.23", "upgrade"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q should mention %q", err, w)
		}
	}
	if len(paths) != 1 {
		t.Errorf("after the version check nothing else may be asked, got %v", paths)
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{RestConfig: &rest.Config{}, Deployer: &fakeDeployer{}, PodNetwork: model.PodNetworkVPC, DefaultWeight: 100}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.PodNetwork = "calico"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--pod-network") {
		t.Errorf("got %v", err)
	}
	bad = ok
	bad.IngressIPMode = "proxy"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--ingress-ip-mode") {
		t.Errorf("got %v", err)
	}
	bad = ok
	bad.LoadBalancerClass = "not a class!"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--load-balancer-class") {
		t.Errorf("got %v", err)
	}
	bad = ok
	bad.LeaderElection, bad.LeaseDuration, bad.RenewDeadline = true, 5*time.Second, 5*time.Second
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--leader-elect-lease-duration") {
		t.Errorf("got %v", err)
	}
	bad = ok
	bad.DefaultWeight = 101
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--default-weight") {
		t.Errorf("got %v", err)
	}
}

// A --cluster-id that cannot be written into the ELB's ownership marks stops the controller at
// start, instead of a running controller that refuses every Service.
func TestOptionsValidateClusterID(t *testing.T) {
	ok := Options{RestConfig: &rest.Config{}, Deployer: &fakeDeployer{}, PodNetwork: model.PodNetworkVPC, DefaultWeight: 100, ClusterID: "prod-eu-1"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"prod/eu", "prod eu", "a=b", strings.Repeat("x", 65)} {
		bad := ok
		bad.ClusterID = id
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--cluster-id") {
			t.Errorf("--cluster-id %q: got %v", id, err)
		}
	}
}

// C9: ipMode is written where the API server keeps it (v1.30 and later), Proxy by default.
func TestIngressIPModeByServerVersion(t *testing.T) {
	for _, c := range []struct{ mode, ver, want string }{
		{"", "v1.37.2", "Proxy"}, {"VIP", "v1.30.0", "VIP"}, {"Proxy", "v1.29.9", "<nil>"}, {"", "v1.23.17-eks-1", "<nil>"},
	} {
		got := "<nil>"
		if m := ingressIPMode(c.mode, c.ver); m != nil {
			got = string(*m)
		}
		if got != c.want {
			t.Errorf("mode %q on %s: got %s, want %s", c.mode, c.ver, got, c.want)
		}
	}
}
