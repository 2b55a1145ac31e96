package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// F1 in the playground (fleetlb-local --tls): elbd serves its API over HTTPS with a certificate
// signed by a CA generated for the playground; the controller trusts it (--elb-ca-file) and binds
// a Service; the official SDK without the CA is refused; elbctl works from elb.env (ELB_CA_FILE)
// and is refused without it.
func TestLocalTLS(t *testing.T) {
	p := startPlayground(t, []playground.ClusterSpec{{Name: "a", PodNetwork: playground.PodNetworkVPC, VPC: 1}},
		func(o *playground.Options) { o.TLS, o.Nodes = true, 1 })
	ctx := deadline(t, 3*time.Minute)
	if !strings.HasPrefix(p.Env.Endpoint, "https://127.0.0.1:") || p.Env.CAFile != filepath.Join(p.StateDir, "tls", "ca.crt") {
		t.Fatalf("endpoint %s, CA file %q; want https://127.0.0.1:PORT and %s", p.Env.Endpoint, p.Env.CAFile, filepath.Join(p.StateDir, "tls", "ca.crt"))
	}
	env, err := os.ReadFile(filepath.Join(p.StateDir, "elb.env"))
	if err != nil || !strings.Contains(string(env), "export ELB_CA_FILE="+p.Env.CAFile+"\n") {
		t.Errorf("elb.env lacks ELB_CA_FILE=%s (%v):\n%s", p.Env.CAFile, err, env)
	}

	// The SDK without the CA: the certificate is not trusted.
	bare, err := playground.NewELB(p.Env.Endpoint, p.Env.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.Ping(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("the SDK without the CA: %v, want a certificate error", err)
	}

	// The controller connects with the CA: the Service binds, its Pods become members.
	a := p.Cluster("a")
	svc := seed(t, "s1-cluster-a-weight-80.yaml", p.Env.PerformanceELBID)
	ms := bindNginx(t, ctx, p, playground.ClassPerformance, p.Env.PerformanceELBID, []playground.Binding{{Cluster: a, Service: svc, Weight: 80}})
	if len(playground.OwnedTargets(ms, p.Owners, "a")) != 3 {
		t.Errorf("members %v, want cluster a's 3 Pods", ms)
	}

	// elbctl with elb.env's variables, then without ELB_CA_FILE.
	elbctl := func(withCA bool) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(programs(t), "elbctl"), "lb", "list")
		cmd.Env = os.Environ()
		for _, kv := range p.Env.Vars() {
			if kv[0] != "ELB_CA_FILE" || withCA {
				cmd.Env = append(cmd.Env, kv[0]+"="+kv[1])
			}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := elbctl(true); err != nil || !strings.Contains(out, p.Env.PerformanceELBID) {
		t.Errorf("elbctl lb list with ELB_CA_FILE: %v\n%s", err, out)
	}
	if out, err := elbctl(false); err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("elbctl lb list without ELB_CA_FILE: %v, want a certificate error:\n%s", err, out)
	}
}
