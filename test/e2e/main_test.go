// Package e2e runs the whole system with real traffic: elbd as a process,
// real Kubernetes clusters (localk8s), one fleetlb-controller process per
// cluster, and HTTP requests through the ELB's VIP, each on a new connection.
// Every test asserts what a user would measure: who answered, in which
// proportion, and that no request failed.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// e2eBase is the address base of the tests' playgrounds (127.192.0.0/11):
// clear of the other packages' tests and of `fleetlb-local up` (127.224).
const e2eBase = 192

// requests per measured split: with the ELB's weighted round robin the
// measured share is within a few requests of the expected one.
const requests = 2000

// tolerance is the allowed gap between measured and expected shares.
const tolerance = 0.02

// e2eDrain is the controllers' --deregistration-delay in these tests (T1): short, to keep them quick.
const e2eDrain = 2 * time.Second

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var build struct {
	once sync.Once
	err  error
}

// programs builds the programs from this tree once, so the tests never run
// stale binaries.
func programs(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		root, err := playground.RepoRoot()
		if err != nil {
			build.err = err
			return
		}
		if binDir, err = os.MkdirTemp("", "fleetlb-e2e-bin-"); err != nil {
			build.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/elbd", "./cmd/fleetlb-controller", "./cmd/elbctl", "./cmd/fleetlb-local", "./cmd/kubectl-fleetlb")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build the programs: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return binDir
}

// k8sBins finds the Kubernetes binaries, or skips (fails under FLEETLB_REQUIRE_K8S=1).
func k8sBins(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	dir, err := localk8s.FindBinDir()
	if err != nil {
		if os.Getenv("FLEETLB_REQUIRE_K8S") == "1" {
			t.Fatalf("FLEETLB_REQUIRE_K8S=1 but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return dir
}

// logWriter sends progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// startTwoClusters starts the playground most scenarios use: cluster a with VPC Pod addresses
// in VPC 1, cluster b with an overlay in VPC vpcB.
func startTwoClusters(t *testing.T, vpcB int) (p *playground.Playground, a, b *playground.Cluster) {
	t.Helper()
	p = startPlayground(t, []playground.ClusterSpec{
		{Name: "a", PodNetwork: playground.PodNetworkVPC, VPC: 1},
		{Name: "b", PodNetwork: playground.PodNetworkOverlay, VPC: vpcB},
	})
	return p, p.Cluster("a"), p.Cluster("b")
}

// startPlayground starts the tests' playground of specs, its options changed by edits.
func startPlayground(t *testing.T, specs []playground.ClusterSpec, edits ...func(*playground.Options)) *playground.Playground {
	t.Helper()
	k8s := k8sBins(t)
	bins := programs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := playground.Options{
		StateDir: t.TempDir(), Clusters: specs, Base: e2eBase, Nodes: 2,
		BinDir: bins, K8sBinDir: k8s, Progress: logWriter{t},
		ProvisioningDelay: playground.DefaultProvisioningDelay, // union writes meet a busy ELB (E2)
		// Removed members drain (T1) briefly: the tests' Pods stop at once.
		ControllerFlags: []string{"--deregistration-delay=" + e2eDrain.String()},
	}
	for _, edit := range edits {
		edit(&o)
	}
	p, err := playground.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, p)
		}
		p.Stop()
	})
	return p
}

// dumpLogs shows the end of the controllers', elbd's and the simulated
// nodes' logs after a failure (a node agent that stopped leaves pods
// Pending, seen only in nodes.log).
func dumpLogs(t *testing.T, p *playground.Playground) {
	logs := []string{filepath.Join(p.LogDir, "controller-a.log"), filepath.Join(p.LogDir, "controller-b.log"), filepath.Join(p.LogDir, "elbd.log")}
	for _, c := range p.Clusters {
		if c != nil && c.K8s != nil {
			logs = append(logs, filepath.Join(c.K8s.LogDir(), "nodes.log"))
		}
	}
	for _, name := range logs {
		t.Logf("last lines of %s:\n%s", name, childproc.Tail(name, 25))
	}
}

func seed(t *testing.T, file, elbID string) *corev1.Service {
	t.Helper()
	dir, err := playground.SeedDir()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := playground.LoadService(filepath.Join(dir, file), elbID)
	if err != nil {
		t.Fatal(err)
	}
	svc.Namespace = "default"
	return svc
}

// seedS1 loads scenario S1's two Services on elbID: cluster a's at weight 80, cluster b's at 20.
func seedS1(t *testing.T, elbID string) (svcA, svcB *corev1.Service) {
	t.Helper()
	return seed(t, "s1-cluster-a-weight-80.yaml", elbID), seed(t, "s1-cluster-b-weight-20.yaml", elbID)
}

// deadline is a context that ends after d or when the test and its subtests are done.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// deployNginx runs the nginx Deployment with replicas in every cluster named.
func deployNginx(t *testing.T, ctx context.Context, p *playground.Playground, replicas int32, clusters ...string) {
	t.Helper()
	for _, name := range clusters {
		if err := playground.ApplyDeployment(ctx, p.Cluster(name).Client(), "default", playground.Nginx(replicas)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range clusters {
		if err := playground.WaitDeploymentReady(ctx, p.Cluster(name).Client(), "default", "nginx", 90*time.Second); err != nil {
			t.Fatalf("cluster %s: %v", name, err)
		}
	}
}

func createService(t *testing.T, ctx context.Context, c *playground.Cluster, svc *corev1.Service) {
	t.Helper()
	if _, err := c.Client().CoreV1().Services(svc.Namespace).Create(ctx, svc.DeepCopy(), metav1.CreateOptions{}); err != nil {
		t.Fatalf("cluster %s: create Service %s: %v", c.Plan.Name, svc.Name, err)
	}
}

func waitPool(t *testing.T, ctx context.Context, p *playground.Playground, w playground.PoolWait) []playground.Member {
	t.Helper()
	if w.Timeout == 0 {
		w.Timeout = 90 * time.Second
	}
	ms, err := p.WaitPool(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// bindNginx runs nginx (3 replicas) in every binding's cluster, creates each
// binding's Service there, and waits until the pool of listener 80 on elbID
// holds the members the bindings call for.
func bindNginx(t *testing.T, ctx context.Context, p *playground.Playground, class, elbID string, bindings []playground.Binding) []playground.Member {
	t.Helper()
	var clusters []string
	for _, bd := range bindings {
		clusters = append(clusters, bd.Cluster.Plan.Name)
	}
	deployNginx(t, ctx, p, 3, clusters...)
	for _, bd := range bindings {
		createService(t, ctx, bd.Cluster, bd.Service)
	}
	return waitPool(t, ctx, p, playground.PoolWait{Class: class, ELBID: elbID, Port: 80, Bindings: bindings})
}

// measure sends requests through vip and checks every owner's measured
// share against the weights on the ELB, and that no request failed.
func measure(t *testing.T, ctx context.Context, p *playground.Playground, vip string, members []playground.Member, requested map[string]int) []playground.Row {
	t.Helper()
	return checkSplit(t, p, vip, playground.NewClient(vip).Send(ctx, requests), members, requested)
}

// checkSplit checks the answers counted in tally: no request failed, and
// every owner's measured share is within tolerance of its expected one (by
// the effective weights on the ELB).
func checkSplit(t *testing.T, p *playground.Playground, vip string, tally playground.Tally, members []playground.Member, requested map[string]int) []playground.Row {
	t.Helper()
	rows := playground.Split(members, p.Owners, requested, tally)
	var buf bytes.Buffer
	playground.WriteSplit(&buf, rows)
	t.Logf("%d requests to %s, %d failed:\n%s", tally.Sent, vip, tally.Failed, buf.String())
	if tally.Failed > 0 {
		t.Errorf("%d of %d requests failed, e.g. %v", tally.Failed, tally.Sent, tally.Errors)
	}
	for _, r := range rows {
		if math.Abs(r.Measured-r.Expected) > tolerance {
			t.Errorf("%s: measured share %.1f%%, expected %.1f%% (effective weight %d) ± %.0f pp",
				r.Owner, 100*r.Measured, 100*r.Expected, r.Effective, 100*tolerance)
		}
	}
	return rows
}

func rowOf(rows []playground.Row, owner string) playground.Row {
	for _, r := range rows {
		if r.Label() == owner {
			return r
		}
	}
	return playground.Row{Owner: owner}
}

// waitListenerGone waits until the ELB has no listener on port.
func waitListenerGone(ctx context.Context, p *playground.Playground, class, elbID string, port int32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, ok, err := p.ELB.FindListener(class, elbID, port)
		if err == nil && !ok {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("listener %d of ELB %s still there after %s (err %v)", port, elbID, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitServiceGone waits until the Service is deleted (its finalizer released).
func waitServiceGone(ctx context.Context, c *playground.Cluster, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.Client().CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("cluster " + c.Plan.Name + ": Service " + ns + "/" + name + " still exists after " + timeout.String() + " (finalizer not released?)")
		}
		time.Sleep(250 * time.Millisecond)
	}
}
