package reconciler_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
)

// replica is one fleetlb-controller process, with its own door to elbd that counts its writes.
type replica struct {
	name  string
	cmd   *exec.Cmd
	elbd  *elbtest.Server // counts its writes
	probe string          // host:port of /healthz and /readyz
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// C12: two replicas of the real program with --leader-elect against one real cluster: only the
// leader writes to the ELB; when it dies (SIGKILL, its lease not released) the other takes over
// once the lease runs out and applies a change; both answer /healthz and /readyz.
func TestC12LeaderElectionTwoReplicas(t *testing.T) {
	c := k8stest.StartMany(t, localk8s.Options{Name: "lease", Nodes: 1})[0]
	k := &kube{name: "lease", c: c, cs: c.Client(), top: t}
	e := startELBD(t, cloudConfig(c.Options().NodeCIDR, nil))
	lb := e.lb(t, "lease", false)

	bin := buildController(t)
	const lease, renew, retry = 4 * time.Second, 3 * time.Second, 500 * time.Millisecond
	logDir := t.TempDir()
	start := func(name string) *replica {
		r := &replica{name: name, probe: freeAddr(t), elbd: e.Another(t)}
		r.cmd = runController(t, bin, logDir, name, "--kubeconfig", c.Kubeconfig, "--cluster-id", "cluster-lease",
			"--elb-endpoint", r.elbd.URL, "--project-id", project, "--subnet-id", "subnet-nodes", "--resync-period", "2s",
			"--leader-elect", "--leader-elect-lease-duration", lease.String(), "--leader-elect-renew-deadline", renew.String(),
			"--leader-elect-retry-period", retry.String(), "--metrics-bind-address", "0", "--health-probe-bind-address", r.probe,
			"--elb-qps", "1000", "--elb-burst", "1000")
		return r
	}
	probeOK := func(r *replica, path string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.probe+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s of replica %s: HTTP %d", path, r.name, resp.StatusCode)
			}
			return nil
		}
	}
	const wait = 60 * time.Second
	a := start("a")
	eventually(t, wait, "replica a ready", probeOK(a, "/readyz"))
	holder := func(ctx context.Context) (string, error) {
		l, err := k.cs.CoordinationV1().Leases("kube-system").Get(ctx, "fleetlb-controller.fleetlb.io", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if l.Spec.HolderIdentity == nil {
			return "", nil
		}
		return *l.Spec.HolderIdentity, nil
	}
	var first string
	eventually(t, wait, "replica a leads", func(ctx context.Context) error {
		var err error
		if first, err = holder(ctx); err != nil || first == "" {
			return fmt.Errorf("no lease holder yet (%v)", err)
		}
		return nil
	})
	b := start("b")
	for _, r := range []*replica{a, b} {
		eventually(t, wait, "healthz of "+r.name, probeOK(r, "/healthz"))
		eventually(t, wait, "readyz of "+r.name, probeOK(r, "/readyz"))
	}

	http80 := corev1.ContainerPort{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}
	k.deployment(t, "web", 1, http80)
	k.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "web", lb.ID, nil))
	eventually(t, wait, "bound by the leader", wantCondition(k, "web", reconciler.ReasonBound))
	time.Sleep(3 * time.Second) // a resync of the leader; the standby must stay silent
	if a.elbd.Writes.Load() == 0 || b.elbd.Writes.Load() != 0 {
		t.Fatalf("writes: leader a %d, standby b %d; only the leader may write", a.elbd.Writes.Load(), b.elbd.Writes.Load())
	}

	// The leader dies without releasing its lease; b takes over once the lease runs out.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var took time.Duration
	eventually(t, wait, "b holds the lease", func(ctx context.Context) error {
		h, err := holder(ctx)
		if err != nil || h == first || h == "" {
			return fmt.Errorf("holder %q (%v)", h, err)
		}
		took = time.Since(killed)
		return nil
	})
	// How fast is measured, not asserted (speed is for benchmarks): the 60 s of eventually only
	// guard against a hang; the log shows the takeover time next to the lease.
	t.Logf("takeover %s after the leader was killed (lease %s, retry period %s)", took.Round(10*time.Millisecond), lease, retry)
	k.update(t, "web", func(s *corev1.Service) { s.Annotations["kubernetes.io/elb.multicluster-loadbalancer-weight"] = "30" })
	eventually(t, wait, "the new leader applies a change", func(ctx context.Context) error {
		_, ms, err := e.pool(ctx, lb.ID, 80)
		if err != nil || len(ms) != 1 || ms[0].Weight != 30 {
			return fmt.Errorf("pool %s (%v), want the one member at weight 30", summary(ms), err)
		}
		return nil
	})
	if b.elbd.Writes.Load() == 0 {
		t.Error("the new leader made no write")
	}
}
