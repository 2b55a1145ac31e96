package elbclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/httphandler"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	vpcv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"

	"github.com/fleetlb/fleetlb/internal/common/apiop"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/program"
)

// Config says where the ELB API is and who calls it.
type Config struct {
	// Endpoint is the ELB API's base URL: https://elb.<region>.myhuaweicloud.com for the real
	// cloud, http://127.0.0.1:PORT for elbd. Both API versions are served under it.
	Endpoint  string
	Region    string // e.g. cn-north-4; informational for elbd
	ProjectID string
	// AK and SK are the access key pair (HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK).
	AK, SK string
	// Timeout bounds one HTTP call. Default 30s.
	Timeout time.Duration
	// VPCEndpoint is the VPC API's base URL (subnets, C7); "" derives it from Endpoint
	// (VPCEndpoint).
	VPCEndpoint string
	// QPS and Burst limit all calls of this client (--elb-qps, --elb-burst). Defaults DefaultQPS
	// and DefaultBurst.
	QPS   float64
	Burst int
	// Retry bounds the repeats of a busy, throttled or failed call (see retry.go).
	Retry Retry
	// CAFile, when set, is a PEM file of the certificate authorities that sign the API's
	// certificate (--elb-ca-file), e.g. elbd's own CA when it serves HTTPS (F1); "" trusts the
	// system's roots.
	CAFile string
	// OnResponse, when set, is told of every HTTP exchange with the API (ELB and VPC, retries
	// and status reads included): the operation (apiop.Name), the HTTP status and how long it
	// took. The controller's metrics count ELB API calls with it (O6).
	OnResponse func(operation string, status int, latency time.Duration)
}

// SDK is the Client backed by the official Huawei Cloud Go SDK.
type SDK struct {
	v3     *elbv3.ElbClient
	v2     *elbv2.ElbClient
	vpc    *vpcv2.VpcClient
	writes atomic.Int64
	// retries counts calls repeated after a 409, 429, 5xx or transport failure.
	retries atomic.Int64
	limiter *rate.Limiter
	retry   Retry
	// poolSubnets caches v2 pool ID → the VIP subnet of its ELB (a pool never moves).
	poolSubnets sync.Map
}

var _ Client = (*SDK)(nil)

// New builds an SDK client. It makes no call; use Check to prove the endpoint and keys work.
func New(cfg Config) (*SDK, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ELB endpoint %q is not an http(s) URL such as https://elb.cn-north-4.myhuaweicloud.com or http://127.0.0.1:9443", cfg.Endpoint)
	}
	if missing := program.Unset("the project ID", cfg.ProjectID, "the access key (HUAWEICLOUD_SDK_AK)", cfg.AK,
		"the secret key (HUAWEICLOUD_SDK_SK)", cfg.SK); len(missing) > 0 {
		return nil, fmt.Errorf("ELB client: %s missing", strings.Join(missing, ", "))
	}
	v3, v2, err := SDKClients(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.QPS < 0 || cfg.Burst < 0 {
		return nil, fmt.Errorf("ELB client: the rate limit (--elb-qps %v, --elb-burst %d) must not be negative", cfg.QPS, cfg.Burst)
	}
	roots, err := loadCA(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	vpc, err := newVPCClient(cfg, sdkHTTPConfig(cfg, roots))
	if err != nil {
		return nil, err
	}
	return &SDK{v3: v3, v2: v2, vpc: vpc, limiter: newLimiter(cfg.QPS, cfg.Burst), retry: cfg.Retry.withDefaults()}, nil
}

// SDKClients builds the official SDK's clients of both API families (v3 dedicated, v2 shared)
// for cfg, as New does, but without checking cfg first. Timeout defaults to 30s, Region to
// "local".
func SDKClients(cfg Config) (*elbv3.ElbClient, *elbv2.ElbClient, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Region == "" {
		cfg.Region = "local"
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AK).WithSk(cfg.SK).WithProjectId(cfg.ProjectID).SafeBuild()
	if err != nil {
		return nil, nil, fmt.Errorf("ELB credentials: %w", err)
	}
	roots, err := loadCA(cfg.CAFile)
	if err != nil {
		return nil, nil, err
	}
	httpCfg := func() *config.HttpConfig { return sdkHTTPConfig(cfg, roots) }
	reg := region.NewRegion(cfg.Region, endpoint)
	h3, err := elbv3.ElbClientBuilder().WithRegion(reg).WithCredential(cred).WithHttpConfig(httpCfg()).SafeBuild()
	if err != nil {
		return nil, nil, fmt.Errorf("ELB v3 client: %w", err)
	}
	h2, err := elbv2.ElbClientBuilder().WithRegion(reg).WithCredential(cred).WithHttpConfig(httpCfg()).SafeBuild()
	if err != nil {
		return nil, nil, fmt.Errorf("ELB v2 client: %w", err)
	}
	return elbv3.NewElbClient(h3), elbv2.NewElbClient(h2), nil
}

// Retries counts the calls repeated so far after a busy 409, a 429, a 5xx or a transport failure.
func (c *SDK) Retries() int64 { return c.retries.Load() }

// HTTPConfig is the SDK's HTTP configuration for cfg (timeout, CAFile), for a program that
// builds its own SDK clients (elbctl).
func HTTPConfig(cfg Config) (*config.HttpConfig, error) {
	roots, err := loadCA(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	return sdkHTTPConfig(cfg, roots), nil
}

// sdkHTTPConfig is the SDK's HTTP configuration for cfg: its timeout and, when roots is not nil,
// a transport trusting only those authorities. Retries are ours (retry.go), not the SDK's.
func sdkHTTPConfig(cfg Config, roots *x509.CertPool) *config.HttpConfig {
	t := cfg.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	hc := config.DefaultHttpConfig().WithTimeout(t).WithRetries(0)
	if on := cfg.OnResponse; on != nil {
		hc = hc.WithHttpHandler(httphandler.NewHttpHandler().AddMonitorHandler(func(m *httphandler.MonitorMetric) {
			on(apiop.Name(m.Method, m.Path), m.StatusCode, m.Latency)
		}))
	}
	if roots == nil {
		return hc
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return hc.WithHttpTransport(transport)
}

// loadCA reads Config.CAFile (--elb-ca-file); "" is nil, the system's roots.
func loadCA(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ELB client: --elb-ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ELB client: --elb-ca-file %s holds no PEM certificate; give the CA that signed the API's certificate", file)
	}
	return roots, nil
}

// Writes counts the write calls made so far.
func (c *SDK) Writes() int64 { return c.writes.Load() }

// wrote counts one write call (also in the context's counter).
func (c *SDK) wrote(ctx context.Context) {
	c.writes.Add(1)
	CountWrite(ctx)
	forgetReads(ctx)
}

// Check lists at most one load balancer through the v3 API: it proves the endpoint answers and the
// keys are accepted for the project.
func (c *SDK) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	one := int32(1)
	// A start-up check answers at once: no repeats.
	if err := c.limiter.Wait(ctx); err != nil {
		return err
	}
	_, err := c.v3.ListLoadBalancers(&v3model.ListLoadBalancersRequest{Limit: &one})
	if err = classify("v3 ListLoadBalancers", err); err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		return fmt.Errorf("the ELB API refused the credentials (check HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and the project ID): %w", err)
	case errors.Is(err, ErrUnreachable):
		return fmt.Errorf("the ELB endpoint cannot be reached (check --elb-endpoint): %w", err)
	}
	return fmt.Errorf("the ELB API check failed: %w", err)
}

// GetLoadBalancer looks in the v3 API first (dedicated ELBs; guaranteed=false marks a shared
// one where the v3 API shows those too), then in the v2 API (shared ELBs).
func (c *SDK) GetLoadBalancer(ctx context.Context, id string) (*LoadBalancer, error) {
	lb, err := show(ctx, c, false, "v3 ShowLoadBalancer", c.v3.ShowLoadBalancer, &v3model.ShowLoadBalancerRequest{LoadbalancerId: id},
		func(r *v3model.ShowLoadBalancerResponse) *LoadBalancer {
			return mapPtr(r.Loadbalancer, loadBalancerFromV3)
		})
	if !errors.Is(err, ErrNotFound) {
		return lb, err
	}
	return show(ctx, c, true, "v2 ShowLoadbalancer", c.v2.ShowLoadbalancer, &v2model.ShowLoadbalancerRequest{LoadbalancerId: id},
		func(r *v2model.ShowLoadbalancerResponse) *LoadBalancer {
			return mapPtr(r.Loadbalancer, loadBalancerFromV2)
		})
}

func loadBalancerFromV3(lb v3model.LoadBalancer) LoadBalancer {
	class := elbrules.ClassPerformance
	if !lb.Guaranteed {
		class = elbrules.ClassUnion
	}
	return LoadBalancer{ID: lb.Id, Name: lb.Name, VIP: lb.VipAddress, Class: class, IPTargetEnable: lb.IpTargetEnable, VPCID: lb.VpcId, SubnetID: lb.VipSubnetCidrId}
}

func loadBalancerFromV2(lb v2model.LoadbalancerResp) LoadBalancer {
	return LoadBalancer{ID: lb.Id, Name: lb.Name, VIP: lb.VipAddress, Class: elbrules.ClassUnion, SubnetID: lb.VipSubnetId}
}

// API returns the v3 calls for performance and the v2 calls for union.
func (c *SDK) API(cl elbrules.Class) API {
	if cl == elbrules.ClassUnion {
		return &v2API{c: c}
	}
	return &v3API{c: c}
}

// pageSize is the limit of list calls; pages are followed by marker.
const pageSize = 500

// nextMarker is a v3 list page's page_info.next_marker (nil when absent).
func nextMarker(pi *v3model.PageInfo) *string {
	if pi == nil {
		return nil
	}
	return pi.NextMarker
}

// paginate calls fetch with a marker until a page is short, has no next marker, or repeats
// (a server that ignores the marker must not make the loop endless).
func paginate[T any](fetch func(marker *string) ([]T, *string, error), id func(T) string) ([]T, error) {
	var out []T
	var marker *string
	seen := map[string]bool{}
	for {
		page, next, err := fetch(marker)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, x := range page {
			if !seen[id(x)] {
				seen[id(x)] = true
				out = append(out, x)
				fresh++
			}
		}
		if fresh == 0 || len(page) < pageSize {
			return out, nil
		}
		if next == nil || *next == "" {
			last := id(page[len(page)-1])
			next = &last
		}
		marker = next
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
