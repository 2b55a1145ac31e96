package nodeagent

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podReady reports the readiness a pod asks for through ReadyAnnotation.
func podReady(pod *corev1.Pod) bool {
	return pod.Annotations[ReadyAnnotation] != "false"
}

// podStatus is the status a kubelet would report for pod, given what the
// agent runs for it (rt is nil when its servers could not start: startErr).
func (a *Agent) podStatus(pod *corev1.Pod, rt *podRuntime, startErr error) *corev1.PodStatus {
	old := &pod.Status
	st := old.DeepCopy()
	st.ObservedGeneration = pod.Generation
	st.HostIP = a.cfg.NodeIP.String()
	st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	if st.StartTime == nil {
		t := metav1.Now().Rfc3339Copy()
		st.StartTime = &t
	}

	running := rt != nil
	ready := running && podReady(pod)
	if running {
		st.Phase = corev1.PodRunning
		st.PodIP = rt.ip.String()
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	} else {
		st.Phase = corev1.PodPending
	}

	cond := func(t corev1.PodConditionType, ok bool, reason string) {
		status := corev1.ConditionFalse
		if ok {
			status = corev1.ConditionTrue
			reason = ""
		}
		setPodCondition(st, corev1.PodCondition{Type: t, Status: status, Reason: reason, ObservedGeneration: pod.Generation})
	}
	cond(corev1.PodReadyToStartContainers, true, "")
	cond(corev1.PodInitialized, true, "")
	cond(corev1.ContainersReady, ready, notReadyReason(running))
	// A pod with readiness gates is Ready only once every gate's condition, set by another
	// controller, is True (the kubelet's rule); the agent keeps those conditions as they are.
	reason := notReadyReason(running)
	gated := ready && !readinessGatesTrue(pod.Spec.ReadinessGates, st.Conditions)
	if gated {
		reason = "ReadinessGatesNotReady"
	}
	cond(corev1.PodReady, ready && !gated, reason)

	st.InitContainerStatuses = initContainerStatuses(pod, old.InitContainerStatuses)
	st.ContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			ImageID: "fleetlb-sim://" + c.Image,
		}
		if running {
			started := true
			cs.Ready = ready
			cs.Started = &started
			cs.ContainerID = "fleetlb://" + string(pod.UID) + "/" + c.Name
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: rt.started}
		} else {
			msg := "the node agent could not start this pod's servers"
			if startErr != nil {
				msg = startErr.Error()
			}
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ServerStartFailed", Message: msg}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// readinessGatesTrue reports whether every gate has its condition True in conds.
func readinessGatesTrue(gates []corev1.PodReadinessGate, conds []corev1.PodCondition) bool {
	for _, g := range gates {
		ok := false
		for _, c := range conds {
			if c.Type == g.ConditionType {
				ok = c.Status == corev1.ConditionTrue
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func notReadyReason(running bool) string {
	if running {
		return "ReadinessAnnotationFalse"
	}
	return "ContainersNotRunning"
}

// initContainerStatuses reports every init container as completed.
func initContainerStatuses(pod *corev1.Pod, old []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for _, c := range pod.Spec.InitContainers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "fleetlb-sim://" + c.Image, Ready: true}
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}
		for _, o := range old {
			if o.Name == c.Name && o.State.Terminated != nil {
				cs.State.Terminated = o.State.Terminated
			}
		}
		out = append(out, cs)
	}
	return out
}

// setPodCondition sets c in st, keeping the transition time when the status is unchanged.
func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		old := &st.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = metav1.Now().Rfc3339Copy()
		}
		c.LastProbeTime = old.LastProbeTime
		*old = c
		return
	}
	c.LastTransitionTime = metav1.Now().Rfc3339Copy()
	st.Conditions = append(st.Conditions, c)
}

func podStatusEqual(a, b *corev1.PodStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
