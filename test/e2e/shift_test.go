package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// T17: kubectl fleetlb with two test-bed clusters as two kubeconfig contexts. status shows both
// clusters' weights and the ELB's split; shift moves the Service's traffic from a to b
// (100:0 → 0:100) in steps while a client opens 200 connections a second through the VIP: no
// connection fails, and afterwards b answers everything. A shift towards a cluster with no
// member refuses before it changes anything.
func TestT17_ShiftTrafficBetweenClusters(t *testing.T) {
	p, a, b := startTwoClusters(t, 1)
	ctx := deadline(t, 5*time.Minute)
	perf, vip := p.Env.PerformanceELBID, p.Env.PerformanceELBVIP+":80"
	svcA, svcB := seedS1(t, perf)
	svcA.Annotations[model.AnnotationWeight], svcB.Annotations[model.AnnotationWeight] = "100", "0"
	bindNginx(t, ctx, p, playground.ClassPerformance, perf, []playground.Binding{{Cluster: a, Service: svcA, Weight: 100}, {Cluster: b, Service: svcB, Weight: 0}})

	kubeconfig := mergedKubeconfig(t, map[string]string{"a": a.Kubeconfig, "b": b.Kubeconfig})
	plugin := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(programs(t), "kubectl-fleetlb"), append(args, "--kubeconfig", kubeconfig)...)
		cmd.Env = append(os.Environ(), "ELB_ENDPOINT="+p.Env.Endpoint, "HUAWEICLOUD_SDK_AK="+p.Env.Credentials.AccessKey,
			"HUAWEICLOUD_SDK_SK="+p.Env.Credentials.SecretKey, "HUAWEICLOUD_SDK_PROJECT_ID="+p.Env.Credentials.ProjectID)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	status, err := plugin("status", "--service", "default/"+svcA.Name, "--context", "a", "--context", "b")
	t.Logf("kubectl fleetlb status:\n%s", status)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Service default/" + svcA.Name + " on ELB " + perf, "TCP/80 (listener", "REQUESTED SHARE"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}

	traffic := playground.NewClient(vip).RunPaced(connectionsPerSecond)
	defer traffic.Stop()
	start := time.Now()
	out, err := plugin("shift", "--service", "default/"+svcA.Name, "--from", "a", "--to", "b", "--step", "25", "--every", "1s", "--check-timeout", "90s")
	t.Logf("kubectl fleetlb shift (%s):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("shift: %v", err)
	}
	for _, want := range []string{"100:0 to 0:100 in 4 steps", "step 4/4: a 0, b 100 — followed by the ELB", "done: a 0, b 100"} {
		if !strings.Contains(out, want) {
			t.Errorf("shift output lacks %q", want)
		}
	}
	during := traffic.Since()
	// After the shift every new connection goes to b.
	traffic.Mark()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return traffic.Since().Sent >= requests/2, nil
	}); err != nil {
		t.Fatal(err)
	}
	after := traffic.Since()
	total := traffic.Stop()
	t.Logf("during the shift: %d connections, %d failed, %d reset, by owner %v; after: %v", during.Sent, during.Failed, during.Resets, during.ByOwner(), after.ByOwner())
	if total.Failed > 0 || total.Resets > 0 || during.Sent == 0 {
		t.Errorf("%d of %d connections failed (%d reset), e.g. %v", total.Failed, total.Sent, total.Resets, total.Errors)
	}
	if by := after.ByOwner(); by["b"] != after.Sent-after.Failed || after.Sent == 0 {
		t.Errorf("after the shift b answered %d of %d connections, want all", by["b"], after.Sent)
	}
	for name, want := range map[string]string{"a": "0", "b": "100"} {
		svc, err := p.Cluster(name).Client().CoreV1().Services("default").Get(ctx, svcA.Name, metav1.GetOptions{})
		if err != nil || svc.Annotations[model.AnnotationWeight] != want {
			t.Errorf("cluster %s: weight %q (%v), want %s", name, annotationOf(svc, model.AnnotationWeight), err, want)
		}
	}

	// Back towards a, whose Pods are gone: refused before anything changes.
	if err := playground.ScaleDeployment(ctx, a.Client(), "default", "nginx", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitNoMembersOf(ctx, playground.ClassPerformance, perf, 80, "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err = plugin("shift", "--service", "default/"+svcA.Name, "--from", "b", "--to", "a", "--step", "50", "--every", "1s")
	if err == nil || !strings.Contains(out, "not started, nothing changed: TCP/80: a has no member in the pool") {
		t.Errorf("shift towards an empty cluster: %v\n%s", err, out)
	}
}

// mergedKubeconfig writes one kubeconfig with a context per cluster (each test-bed kubeconfig
// names its user "admin": renamed per cluster so that they do not collide).
func mergedKubeconfig(t *testing.T, files map[string]string) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for name, path := range files {
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		user := "admin-" + name
		merged.Clusters[name] = cfg.Clusters[ctx.Cluster]
		merged.AuthInfos[user] = cfg.AuthInfos[ctx.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: user}
		merged.CurrentContext = name
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func annotationOf(svc *corev1.Service, key string) string {
	if svc == nil {
		return ""
	}
	return svc.Annotations[key]
}
