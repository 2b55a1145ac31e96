package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

func refuse(reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// validateRef checks what the marks are made of.
func validateRef(ref model.ServiceRef) *Refusal {
	if msg := ownership.ClusterIDProblem(ref.ClusterID); msg != "" {
		return refuse(ReasonInvalidDesired, "%s; start the controller with a --cluster-id of 1–%d characters without '/', '=' or spaces", msg, ownership.MaxClusterIDLen)
	}
	if ref.Namespace == "" || ref.Name == "" || strings.ContainsAny(ref.Namespace+ref.Name, "/ ") {
		return refuse(ReasonInvalidDesired, "invalid Service reference %q/%q", ref.Namespace, ref.Name)
	}
	return nil
}

// validateDesired checks desired on its own, before the ELB is read.
func validateDesired(d model.Desired) *Refusal {
	if r := validateRef(d.Service); r != nil {
		return r
	}
	if d.ELBID == "" {
		return refuse(ReasonELBNotFound, "%s is missing; set it to the ID of an existing ELB (fleetlb never creates ELBs)", model.AnnotationELBID)
	}
	if d.Class != elbrules.ClassPerformance && d.Class != elbrules.ClassUnion {
		return refuse(ReasonInvalidDesired, "%s is %q; set it to %q (dedicated ELB) or %q (shared ELB)", model.AnnotationClass, d.Class, elbrules.ClassPerformance, elbrules.ClassUnion)
	}
	if !elbrules.ValidWeight(d.Weight) {
		return refuse(ReasonInvalidDesired, "%s is %d; set an integer from %d to %d", model.AnnotationWeight, d.Weight, elbrules.MinWeight, elbrules.MaxWeight)
	}
	switch d.Recycle {
	case "", model.RecycleMemberOnly, model.RecycleCascade:
	default:
		return refuse(ReasonInvalidDesired, "%s is %q; set %q (default) or %q", model.AnnotationRecyclePolicy, d.Recycle, model.RecycleMemberOnly, model.RecycleCascade)
	}
	if d.MultiVPC && d.Class != elbrules.ClassPerformance {
		return refuse(ReasonMultiVPCInvalid, "%s needs %s: %q (a dedicated ELB with IP-type backends); change the class or remove %s", model.AnnotationMultiVPC, model.AnnotationClass, elbrules.ClassPerformance, model.AnnotationMultiVPC)
	}
	ports := map[string]bool{} // "TCP/80": TCP and UDP on one port are two listeners (C11)
	for _, l := range d.Listeners {
		if l.Port < 1 || l.Port > 65535 {
			return refuse(ReasonInvalidDesired, "Service port %d is outside 1–65535", l.Port)
		}
		if l.Protocol != "TCP" && l.Protocol != "UDP" {
			return refuse(ReasonInvalidDesired, "Service port %d has protocol %q; an ELB listener here can be TCP or UDP", l.Port, l.Protocol)
		}
		key := fmt.Sprintf("%s/%d", l.Protocol, l.Port)
		if ports[key] {
			return refuse(ReasonInvalidDesired, "Service port %s appears twice; give each port its own number or protocol", key)
		}
		ports[key] = true
		if d.MultiVPC && l.Protocol != "TCP" {
			return refuse(ReasonMultiVPCInvalid, "%s works only for TCP (the backend group must be TCP), but port %d is %s; remove %s or the %s port", model.AnnotationMultiVPC, l.Port, l.Protocol, model.AnnotationMultiVPC, l.Protocol)
		}
		for _, m := range l.Members {
			if !elbrules.ValidWeight(m.Weight) {
				return refuse(ReasonInvalidDesired, "member %s:%d of port %d has weight %d; member weights are %d–%d", m.Address, m.Port, l.Port, m.Weight, elbrules.MinWeight, elbrules.MaxWeight)
			}
			if m.Address == "" || m.Port < 1 || m.Port > 65535 {
				return refuse(ReasonInvalidDesired, "member %q:%d of port %d has no valid address or port", m.Address, m.Port, l.Port)
			}
		}
	}
	return nil
}

func classWord(c elbrules.Class) string {
	if c == elbrules.ClassPerformance {
		return "dedicated"
	}
	return "shared"
}

// loadBalancer reads the ELB and checks it against desired (R10, class, R11).
func (d *Deployer) loadBalancer(ctx context.Context, desired model.Desired) (*elbclient.LoadBalancer, error) {
	lb, err := d.client.GetLoadBalancer(ctx, desired.ELBID)
	if errors.Is(err, elbclient.ErrNotFound) {
		return nil, refuse(ReasonELBNotFound, "ELB %q named by %s does not exist in this project and region; set %s to the ID of an existing ELB (fleetlb never creates ELBs)", desired.ELBID, model.AnnotationELBID, model.AnnotationELBID)
	}
	if err != nil {
		return nil, fmt.Errorf("read ELB %s: %w", desired.ELBID, err)
	}
	if lb.Class != desired.Class {
		return nil, refuse(ReasonELBClassMismatch, "ELB %s is a %s ELB but %s is %q; set %s to %q", lb.ID, classWord(lb.Class), model.AnnotationClass, desired.Class, model.AnnotationClass, lb.Class)
	}
	if desired.MultiVPC && !lb.IPTargetEnable {
		return nil, refuse(ReasonMultiVPCInvalid, "ELB %s does not have IP-type backends enabled, which %s needs; enable IP-type backends (ip_target_enable) on the ELB or remove %s", lb.ID, model.AnnotationMultiVPC, model.AnnotationMultiVPC)
	}
	return lb, nil
}
