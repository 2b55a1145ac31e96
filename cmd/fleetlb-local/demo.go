package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

const (
	demoNamespace = "default"
	vmWeight      = 10
)

// demo is one run of `fleetlb-local demo`.
type demo struct {
	out      io.Writer // the report
	log      io.Writer // progress
	p        *playground.Playground
	binDir   string
	k8sDir   string // where the Kubernetes binaries (and kubectl, when built) are
	requests int
	replicas int32
	services map[string]*corev1.Service // cluster → its S1 Service
	vms      []*exec.Cmd
	failed   int // requests through the VIP that failed, over every split
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetlb-local demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var u upFlags
	u.register(fs)
	exit := fs.Bool("exit", false, "stop everything after the report instead of staying up until Ctrl-C")
	seedDir := fs.String("seed-dir", "", "directory of the source document's example manifests (default $FLEETLB_SEED_DIR, else ../shared/seed/examples beside the repository, else its copy in internal/testbed/playground/seed)")
	requests := fs.Int("requests", 2000, "HTTP requests to send for each split")
	replicas := fs.Int("replicas", 3, "nginx replicas per cluster")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; demo takes only flags", fs.Arg(0))
	}
	if u.clusters != "a,b" || u.separateVPCs {
		return errors.New("demo plays S1 with clusters a and b in one VPC; use `fleetlb-local up` for other layouts")
	}
	if *requests < 1 || *replicas < 1 || *replicas > 50 {
		return errors.New("--requests must be at least 1 and --replicas from 1 to 50")
	}
	opts, err := u.options(stderr)
	if err != nil {
		return err
	}
	if *seedDir == "" {
		if *seedDir, err = playground.SeedDir(); err != nil {
			return err
		}
	}
	// Read the manifests before starting anything, so a missing file fails fast.
	d := &demo{out: stdout, log: stderr, binDir: opts.BinDir, requests: *requests, replicas: int32(*replicas), services: map[string]*corev1.Service{}}
	for name, file := range map[string]string{"a": "s1-cluster-a-weight-80.yaml", "b": "s1-cluster-b-weight-20.yaml"} {
		svc, err := playground.LoadService(filepath.Join(*seedDir, file), "")
		if err != nil {
			return err
		}
		d.services[name] = svc
	}
	if _, err := os.Stat(filepath.Join(opts.BinDir, "elbctl")); err != nil {
		return fmt.Errorf("elbctl is not in %s; build it with `make build`", opts.BinDir)
	}

	p, err := playground.Start(ctx, opts)
	if err != nil {
		return err
	}
	d.p = p
	d.k8sDir = p.Clusters[0].K8s.Options().BinDir
	defer stopPlayground(p, stderr)
	defer d.stopVMs()
	printEnvSummary(stderr, p)

	if err := d.s1(ctx); err != nil {
		return err
	}
	if err := d.s3(ctx); err != nil {
		return err
	}
	d.byHand(*exit)
	if *exit {
		return d.outcome()
	}
	if err := d.outcome(); err != nil {
		fmt.Fprintf(stderr, "fleetlb-local: %v\n", err)
	}
	fmt.Fprintln(stderr, "fleetlb-local: the playground stays up; press Ctrl-C to stop it")
	return waitUntilDone(ctx, p, stderr)
}

func (d *demo) progress(format string, a ...any) {
	fmt.Fprintf(d.log, "fleetlb-local: "+format+"\n", a...)
}

func (d *demo) bindings() []playground.Binding {
	var out []playground.Binding
	for _, name := range []string{"a", "b"} {
		w, _ := strconv.Atoi(d.services[name].Annotations[model.AnnotationWeight])
		out = append(out, playground.Binding{Cluster: d.p.Cluster(name), Service: d.services[name], Weight: w})
	}
	return out
}

func (d *demo) requested() map[string]int {
	req := map[string]int{}
	for _, b := range d.bindings() {
		req[b.Cluster.Plan.Name] = b.Weight
	}
	return req
}

// s1 plays scenario S1: the same nginx Service in clusters a and b, weights
// 80 and 20, on one listener of the dedicated ELB.
func (d *demo) s1(ctx context.Context) error {
	env := d.p.Env
	for _, name := range []string{"a", "b"} {
		c := d.p.Cluster(name)
		svc := d.services[name]
		svc.Annotations[model.AnnotationELBID] = env.PerformanceELBID
		svc.Namespace = demoNamespace
		d.progress("cluster %s: Deployment nginx (%d replicas, containerPort 80) and Service nginx from the seed example (weight %s, elb.id %s)",
			name, d.replicas, svc.Annotations[model.AnnotationWeight], env.PerformanceELBID)
		if err := playground.ApplyDeployment(ctx, c.Client(), demoNamespace, playground.Nginx(d.replicas)); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		if _, err := c.Client().CoreV1().Services(demoNamespace).Create(ctx, svc.DeepCopy(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("cluster %s: create Service nginx: %w", name, err)
		}
	}
	for _, name := range []string{"a", "b"} {
		if err := playground.WaitDeploymentReady(ctx, d.p.Cluster(name).Client(), demoNamespace, "nginx", 90*time.Second); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
	}
	d.progress("waiting for both clusters' members in the pool of listener 80")
	members, err := d.p.WaitPool(ctx, playground.PoolWait{
		Class: playground.ClassPerformance, ELBID: env.PerformanceELBID, Port: 80, Bindings: d.bindings(), Timeout: 2 * time.Minute,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n== S1: clusters a (%s) and b (%s)\n", memberMode(d.p.Cluster("a").Plan.PodNetwork), memberMode(d.p.Cluster("b").Plan.PodNetwork))
	fmt.Fprintf(d.out, "   share listener 80 of the dedicated ELB %s (VIP %s), weights 80 and 20\n\n", env.PerformanceELBID, env.PerformanceELBVIP)
	d.serviceStatus(ctx)
	return d.report(ctx, members)
}

// outcome fails the demo when requests through the ELB failed, so that a
// script running it with --exit sees it in the exit status.
func (d *demo) outcome() error {
	if d.failed == 0 {
		return nil
	}
	return fmt.Errorf("%d request(s) through the ELB failed (see the report above); logs in %s", d.failed, d.p.LogDir)
}

// memberMode says how a cluster with this pod network joins the dedicated
// ELB's pool (--pod-network can change the default a=vpc,b=overlay).
func memberMode(podNetwork string) string {
	if podNetwork == playground.PodNetworkVPC {
		return "pod network vpc: pass-through, one member per pod"
	}
	return "pod network overlay: one member per node, node port"
}

// s3 plays scenario S3 by hand: two VMs join the same pool with elbctl.
func (d *demo) s3(ctx context.Context) error {
	env := d.p.Env
	l, ok, err := d.p.ELB.FindListener(playground.ClassPerformance, env.PerformanceELBID, 80)
	if err != nil {
		return err
	}
	if !ok || l.PoolID == "" {
		return errors.New("listener 80 or its pool disappeared")
	}
	fmt.Fprintf(d.out, "\n== S3: two VMs join the same pool by hand, weight %d each (elbctl, the operator's CLI)\n\n", vmWeight)
	for i, name := range []string{"vm-1", "vm-2"} {
		addr := d.p.Env.Plan.VMAddress(i + 1).String()
		if err := d.startVM(name, addr+":80"); err != nil {
			return err
		}
		args := []string{"member", "add", "--pool", l.PoolID, "--address", addr, "--port", "80",
			"--weight", strconv.Itoa(vmWeight), "--subnet-id", env.Plan.VMSubnet.ID, "--name", name}
		fmt.Fprintf(d.out, "  $ elbctl %s\n", strings.Join(args, " "))
		out, err := d.elbctl(ctx, args...)
		if err != nil {
			return fmt.Errorf("elbctl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	members, err := d.p.WaitPool(ctx, playground.PoolWait{
		Class: playground.ClassPerformance, ELBID: env.PerformanceELBID, Port: 80, Bindings: d.bindings(),
		Others: []string{"vm-1", "vm-2"}, Timeout: time.Minute,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(d.out)
	return d.report(ctx, members)
}

// serviceStatus shows what each cluster's controller wrote on its Service:
// the ELB's VIP as ingress, the listener port (R8) and the Bound condition.
func (d *demo) serviceStatus(ctx context.Context) {
	fmt.Fprintln(d.out, "Services (what the controllers wrote back):")
	for _, name := range []string{"a", "b"} {
		var svc *corev1.Service
		var err error
		// The members can land a moment before the status is written.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			svc, err = d.p.Cluster(name).Client().CoreV1().Services(demoNamespace).Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil || len(svc.Status.LoadBalancer.Ingress) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			fmt.Fprintf(d.out, "  cluster %s: %v\n", name, err)
			continue
		}
		var ingress []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ingress = append(ingress, in.IP)
		}
		bound := "no Bound condition yet"
		for _, c := range svc.Status.Conditions {
			if c.Type == reconciler.ConditionBound {
				bound = fmt.Sprintf("%s=%s: %s", c.Type, c.Status, c.Message)
			}
		}
		fmt.Fprintf(d.out, "  cluster %s: Service %s/%s ingress %s, %s=%q\n    %s\n", name, svc.Namespace, svc.Name,
			strings.Join(ingress, ","), model.AnnotationListenerPort, svc.Annotations[model.AnnotationListenerPort], bound)
	}
	fmt.Fprintln(d.out)
}

func (d *demo) report(ctx context.Context, members []playground.Member) error {
	fmt.Fprintln(d.out, "Pool members (from the ELB API):")
	playground.WriteMembers(d.out, members, d.p.Owners)
	vip := d.p.Env.PerformanceELBVIP + ":80"
	d.progress("sending %d HTTP requests to %s, a new connection each", d.requests, vip)
	start := time.Now()
	t := playground.NewClient(vip).Send(ctx, d.requests)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	req := d.requested()
	for _, m := range members {
		if o := d.p.Owners.Of(m); strings.HasPrefix(o, "vm-") {
			req[o] = m.Weight
		}
	}
	d.failed += t.Failed
	fmt.Fprintf(d.out, "\n%d requests to %s in %.1fs, %d failed. Split:\n", t.Sent, vip, time.Since(start).Seconds(), t.Failed)
	playground.WriteSplit(d.out, playground.Split(members, d.p.Owners, req, t))
	for _, e := range t.Errors {
		fmt.Fprintf(d.out, "  failure: %s\n", e)
	}
	return nil
}

func (d *demo) elbctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(d.binDir, "elbctl"), args...)
	cmd.Env = os.Environ()
	for _, kv := range d.p.Env.Vars() {
		cmd.Env = append(cmd.Env, kv[0]+"="+kv[1])
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startVM runs `fleetlb-local vm` as a child process.
func (d *demo) startVM(name, addr string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(d.p.LogDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(exe, "vm", "--name", name, "--listen", addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start VM %s: %w", name, err)
	}
	d.vms = append(d.vms, cmd)
	// Wait until it answers, so its member does not start OFFLINE.
	c := playground.NewClient(addr)
	for i := 0; ; i++ {
		id, err := c.Get(context.Background())
		if err == nil && id == name {
			break
		}
		if i == 50 {
			return fmt.Errorf("VM %s does not answer on %s (log %s): %v", name, addr, logPath, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.progress("VM %s answering on %s (pid %d)", name, addr, cmd.Process.Pid)
	return nil
}

func (d *demo) stopVMs() {
	for _, cmd := range d.vms {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	d.vms = nil
}

// byHand prints how to go on from here; with --exit the playground stops
// right after, which the reader must know before trying the commands.
func (d *demo) byHand(exit bool) {
	env := d.p.Env
	dir := d.p.StateDir
	l, _, _ := d.p.ELB.FindListener(playground.ClassPerformance, env.PerformanceELBID, 80)
	path, tools, kubectl := d.binDir, "elbctl, fleetlb-local", "kubectl is not part of this repository, any recent one works"
	if fi, err := os.Stat(filepath.Join(d.k8sDir, "kubectl")); d.k8sDir != "" && err == nil && !fi.IsDir() {
		path, tools, kubectl = path+":"+d.k8sDir, tools+", kubectl", "kubectl built by make k8s-bins"
	}
	fmt.Fprintf(d.out, `
== Go on by hand (another terminal; %s)
`, kubectl)
	if exit {
		fmt.Fprintln(d.out, "  (--exit: the playground stops now; run the demo without --exit to keep it up for these)")
	}
	fmt.Fprintf(d.out, `  source %[1]s/elb.env   # ELB_ENDPOINT, credentials, ELB IDs and VIPs, subnets
  export PATH=%[2]s:$PATH   # %[6]s
  elbctl lb list
  elbctl member list --pool %[3]s
  kubectl --kubeconfig %[1]s/a.kubeconfig get service nginx -o wide
  kubectl --kubeconfig %[1]s/a.kubeconfig scale deployment nginx --replicas 6
  kubectl --kubeconfig %[1]s/b.kubeconfig annotate service nginx %[4]s=50 --overwrite
  curl http://%[5]s/   # answers CLUSTER/NODE/POD or vm-N
  logs: %[1]s/logs (elbd.log, controller-a.log, controller-b.log)
`, dir, path, l.PoolID, model.AnnotationWeight, env.PerformanceELBVIP, tools)
}
