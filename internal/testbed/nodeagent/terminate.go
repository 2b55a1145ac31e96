package nodeagent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A deleted pod ends as the kubelet ends it: the containers' preStop hooks run
// while the pod keeps serving (its Ready condition untouched, so the
// EndpointSlice controller shows the endpoint serving and terminating), all of
// it bounded by the pod's termination grace period; then the containers stop
// (the servers close) and the pod object is removed.

// defaultGracePeriod is the kubelet's grace when a pod states none.
const defaultGracePeriod = 30 * time.Second

// beginTermination starts terminating the pod running for key, once; it
// reports false when nothing runs for it (nothing to wait for).
func (a *Agent) beginTermination(ctx context.Context, key types.NamespacedName, pod *corev1.Pod) bool {
	a.mu.Lock()
	rt := a.pods[key]
	if rt == nil || rt.uid != pod.UID {
		a.mu.Unlock()
		return false
	}
	if rt.terminating {
		a.mu.Unlock()
		return true
	}
	rt.terminating = true
	a.mu.Unlock()

	grace := gracePeriod(pod)
	a.log.Info("pod terminating", "pod", key, "grace", grace)
	a.terminations.Add(1)
	go func() {
		defer a.terminations.Done()
		hookCtx, cancel := context.WithTimeout(ctx, grace)
		defer cancel()
		start := time.Now()
		a.runPreStop(hookCtx, pod, rt)
		a.log.Info("preStop done, stopping the pod", "pod", key, "after", time.Since(start).Round(time.Millisecond))
		a.stopPod(key, rt.uid)
		if ctx.Err() != nil {
			return
		}
		if err := a.removePod(ctx, pod); err != nil {
			a.log.Info("removing the terminated pod failed; its next sync retries", "pod", key, "err", err)
			a.queue.AddRateLimited(key)
		}
	}()
	return true
}

// removePod is the kubelet's last word: with the containers gone, the object goes.
func (a *Agent) removePod(ctx context.Context, pod *corev1.Pod) error {
	err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete terminated pod: %w", err)
	}
	return nil
}

// gracePeriod is this deletion's grace (metadata.deletionGracePeriodSeconds),
// else the pod's terminationGracePeriodSeconds, else the kubelet's default.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGracePeriod
}

// runPreStop runs every container's preStop hook at once and returns when all
// ended or ctx (the grace period) is over.
func (a *Agent) runPreStop(ctx context.Context, pod *corev1.Pod, rt *podRuntime) {
	var wg sync.WaitGroup
	for _, c := range pod.Spec.Containers {
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
			continue
		}
		h := c.Lifecycle.PreStop
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runHook(ctx, h, c, rt); err != nil {
				a.log.Info("preStop hook", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
			}
		}()
	}
	wg.Wait()
}

// runHook runs one lifecycle handler: a sleep (the sleep action, or an exec
// command that is a sleep: the only program the simulated containers have) or
// an HTTP GET to the pod. Other exec commands end at once, as a no-op would.
func runHook(ctx context.Context, h *corev1.LifecycleHandler, c corev1.Container, rt *podRuntime) error {
	switch {
	case h.Sleep != nil:
		return sleepCtx(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
	case h.Exec != nil:
		d, ok := execSleep(h.Exec.Command)
		if !ok {
			return fmt.Errorf("exec %q: only sleep can run in a simulated container; ended at once", h.Exec.Command)
		}
		return sleepCtx(ctx, d)
	case h.HTTPGet != nil:
		port, err := hookPort(h.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		host := h.HTTPGet.Host
		if host == "" {
			host = rt.ip.String()
		}
		scheme := strings.ToLower(string(h.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+h.HTTPGet.Path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	return nil
}

// execSleep reads a command that sleeps: ["sleep", "20"] or a shell's
// ["sh", "-c", "sleep 20"] (seconds, possibly fractional or with an "s").
func execSleep(cmd []string) (time.Duration, bool) {
	words := strings.Fields(strings.Join(cmd, " "))
	for i, w := range words {
		if (w == "sleep" || strings.HasSuffix(w, "/sleep")) && i+1 < len(words) {
			secs, err := strconv.ParseFloat(strings.TrimSuffix(strings.Trim(words[i+1], `"';`), "s"), 64)
			if err == nil && secs >= 0 {
				return time.Duration(secs * float64(time.Second)), true
			}
		}
	}
	return 0, false
}

// hookPort resolves a hook's port: a number, or a container port's name.
func hookPort(p intstr.IntOrString, c corev1.Container) (int, error) {
	if p.IntValue() > 0 {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.String() {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("httpGet port %q is not a port of container %s", p.String(), c.Name)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cut by the termination grace period: %w", ctx.Err())
	}
}
