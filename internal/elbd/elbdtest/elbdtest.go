// Package elbdtest serves elbd to tests, built by internal/elbd/server as cmd/elbd builds it, over
// HTTP on a loopback port; and it builds the official SDK clients that sign their calls to it.
package elbdtest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	httpclient "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Config is the elbd configuration the API tests share: key AK1 (secret SK1-secret) acts in
// project p1 and AK2 (SK2-secret) in p2, in the VPCs of VPCs.
const Config = `
credentials:
  - accessKey: AK1
    secretKey: SK1-secret
    projectID: p1
  - accessKey: AK2
    secretKey: SK2-secret
    projectID: p2
` + VPCs

// VPCs is the network of the tests' elbd configurations, to follow their credentials: VPC vpc-a
// (127.10.0.0/16) has subnets subnet-a1 (127.10.1.0/24) and subnet-a2 (127.10.2.0/24); VPC vpc-b
// (127.20.0.0/16) has subnet-b1 (127.20.1.0/24) and subnet-tiny (127.20.9.0/30, room for one VIP,
// for exhaustion tests).
const VPCs = `vpcs:
  - id: vpc-a
    cidr: 127.10.0.0/16
    subnets:
      - id: subnet-a1
        cidr: 127.10.1.0/24
      - id: subnet-a2
        cidr: 127.10.2.0/24
  - id: vpc-b
    cidr: 127.20.0.0/16
    subnets:
      - id: subnet-b1
        cidr: 127.20.1.0/24
      - id: subnet-tiny
        cidr: 127.20.9.0/30
`

// Options shape the served elbd; the zero value serves it with no data plane, on a fresh
// temporary data directory.
type Options struct {
	// Dir is the data directory; "" means a new temporary one.
	Dir string
	// DataPlane is told about writes and answers the operating statuses of v3 and v2; nil means
	// api.NopDataPlane (no traffic served), unless RealDataPlane.
	DataPlane api.DataPlane
	// ProvisioningDelay is server.Options.ProvisioningDelay: the shared ELB's busy window (E2).
	ProvisioningDelay time.Duration
	// RealDataPlane runs elbd's own data plane (health checks, traffic on loopback VIPs), as
	// cmd/elbd does; DataPlane must be nil.
	RealDataPlane bool
	// Logger receives elbd's logs (tests that check what is logged); nil discards them.
	Logger *slog.Logger
	// Console serves elbd's web console too, at Server.ConsoleURL.
	Console bool
}

// Server is elbd (internal/elbd/server) served over HTTP. The test's cleanup closes it.
type Server struct {
	// URL is the endpoint SDK clients call, http://127.0.0.1:port.
	URL string
	// MetricsURL serves elbd's /metrics (server.MetricsHandler), as --metrics-address does.
	MetricsURL string
	Config     *config.Config
	Store      *store.Store
	elbd       *server.Server
	srv        *httptest.Server
	metrics    *httptest.Server
	closed     bool

	// ConsoleURL is the web console's, http://127.0.0.1:port; "" unless Options.Console.
	ConsoleURL string
	console    *httptest.Server
}

// Start parses configYAML (an elbd configuration) and serves elbd built by server.New on it.
func Start(t testing.TB, configYAML string, o Options) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte(configYAML))
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.DataPlane == nil && !o.RealDataPlane {
		o.DataPlane = api.NopDataPlane{}
	}
	elbd, err := server.New(server.Options{Config: cfg, DataDir: o.Dir, DataPlane: o.DataPlane, ProvisioningDelay: o.ProvisioningDelay, Logger: o.Logger, Console: o.Console})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Config: cfg, Store: elbd.Store, elbd: elbd, srv: httptest.NewServer(elbd.Handler()), metrics: httptest.NewServer(elbd.MetricsHandler())}
	s.URL, s.MetricsURL = s.srv.URL, s.metrics.URL+"/metrics"
	if o.Console {
		s.console = httptest.NewServer(elbd.ConsoleHandler())
		s.ConsoleURL = s.console.URL
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Close stops serving and then closes elbd (its store), as elbd does on SIGTERM, and returns
// the close error; later calls do nothing.
func (s *Server) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.srv.Close()
	if s.console != nil {
		s.console.Close()
	}
	s.metrics.Close()
	return s.elbd.Close()
}

// Handler is elbd's API as URL serves it, for a test that serves it its own way (behind a front
// of its own, counting calls).
func (s *Server) Handler() http.Handler { return s.elbd.Handler() }

// Faults is elbd's fault injector (F6), nil unless the configuration has a faults: section.
func (s *Server) Faults() *faults.Injector { return s.elbd.Faults }

// V3Client is the official v3 SDK client calling endpoint, signing with ak and sk for project.
func V3Client(t testing.TB, endpoint, ak, sk, project string) *elbv3.ElbClient {
	t.Helper()
	return elbv3.NewElbClient(sdkClient(t, elbv3.ElbClientBuilder(), endpoint, ak, sk, project))
}

// V2Client is the official v2 SDK client calling endpoint, signing with ak and sk for project.
func V2Client(t testing.TB, endpoint, ak, sk, project string) *elbv2.ElbClient {
	t.Helper()
	return elbv2.NewElbClient(sdkClient(t, elbv2.ElbClientBuilder(), endpoint, ak, sk, project))
}

// sdkClient builds an SDK service's HTTP client (b is the service's builder) calling endpoint,
// signing with ak and sk for project.
func sdkClient(t testing.TB, b *httpclient.HcHttpClientBuilder, endpoint, ak, sk, project string) *httpclient.HcHttpClient {
	t.Helper()
	hc, err := b.WithEndpoints([]string{endpoint}).WithCredential(credentials(t, ak, sk, project)).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func credentials(t testing.TB, ak, sk, project string) *basic.Credentials {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(project).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// SignedRequest is the request b builds, signed with ak/sk by the SDK's own signer and converted
// to the *http.Request the SDK's HTTP client sends: for tests that alter or replay what the SDK
// would send.
func SignedRequest(t testing.TB, b *request.HttpRequestBuilder, ak, sk string) *http.Request {
	t.Helper()
	sdkRequest := b.Build()
	extra, err := signer.Sign(sdkRequest, ak, sk)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		sdkRequest.AddHeaderParam(k, v)
	}
	req, err := sdkRequest.ConvertRequest()
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// FreePort is a TCP port free on host (a loopback address) a moment ago: for a listener or a
// flag address a test chooses before elbd binds it.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ClusterCloud is elbd's configuration for one test-bed cluster: key ak (secret sk) acting in
// project, and VPC vpc-1 (127.0.0.0/8) with the nodes' subnet subnet-nodes (nodeCIDR), each
// node's Pod range as a subnet of its own, subnet-pods-N (so that pass-through members of one
// Service span several subnets), the VIP subnet subnet-vip (127.250.0.0/24) and subnet-vm
// (127.251.0.0/24) for VMs added by hand; and VPC vpc-2 without the cluster's addresses.
func ClusterCloud(ak, sk, project, nodeCIDR string, podCIDRs []string) string {
	subnets := []string{"subnet-nodes", nodeCIDR}
	for i, c := range podCIDRs {
		subnets = append(subnets, fmt.Sprintf("subnet-pods-%d", i+1), c)
	}
	// A second VPC without the cluster's addresses.
	return Cloud([]string{ak, sk, project}, subnets, `  - id: vpc-2
    cidr: 127.252.0.0/16
    subnets:
      - {id: subnet-vip-2, cidr: 127.252.0.0/24}
`)
}

// Cloud is an elbd configuration of the test bed: the keys (access key, secret key, project ID,
// three strings each), VPC vpc-1 (127.0.0.0/8) with subnets (ID and CIDR, two strings each)
// besides subnet-vip (127.250.0.0/24, for VIPs) and subnet-vm (127.251.0.0/24, for VMs added by
// hand), then rest: YAML that follows vpc-1 (another VPC, quotas, faults).
func Cloud(keys, subnets []string, rest string) string {
	var b strings.Builder
	b.WriteString("credentials:\n")
	for i := 0; i+2 < len(keys); i += 3 {
		fmt.Fprintf(&b, "  - {accessKey: %s, secretKey: %s, projectID: %s}\n", keys[i], keys[i+1], keys[i+2])
	}
	b.WriteString("vpcs:\n  - id: vpc-1\n    cidr: 127.0.0.0/8\n    subnets:\n")
	subnets = append(subnets, "subnet-vip", "127.250.0.0/24", "subnet-vm", "127.251.0.0/24")
	for i := 0; i+1 < len(subnets); i += 2 {
		fmt.Fprintf(&b, "      - {id: %s, cidr: %s}\n", subnets[i], subnets[i+1])
	}
	return b.String() + rest
}

// Must is the value of a call that has to succeed: Must[T](t)(call()) ends the test on its error.
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
