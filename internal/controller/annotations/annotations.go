// Package annotations parses and validates the kubernetes.io/elb.* annotations of a Service
// (R1) into a typed model.ServiceConfig. Every error names the annotation, the value found and
// what to change, because the user reads it in an Event on the Service.
package annotations

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// FieldError is one problem with one annotation.
type FieldError struct {
	Annotation string
	Value      string // the value found (after trimming); "" when the annotation is missing
	Missing    bool
	Problem    string // what is wrong
	Fix        string // what to change
}

func (e *FieldError) Error() string {
	if e.Missing {
		return fmt.Sprintf("annotation %s is missing: %s; %s", e.Annotation, e.Problem, e.Fix)
	}
	return fmt.Sprintf("annotation %s=%s: %s; %s", e.Annotation, quote(e.Value), e.Problem, e.Fix)
}

// quote shows a value as the user wrote it: JSON values stay readable in single quotes.
func quote(v string) string {
	if strings.ContainsAny(v, "\"\\") && !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return strconv.Quote(v)
}

// Errors is every problem found on one Service, in a stable order.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find each FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Config is the parsed configuration plus notes about system-written annotations that were
// unreadable and therefore ignored (R8: a user edit never changes what the controller does).
type Config struct {
	model.ServiceConfig
	Warnings []string
}

// HasELBID reports whether the annotations name an ELB at all. Services without it are not ours.
func HasELBID(ann map[string]string) bool {
	return strings.TrimSpace(ann[model.AnnotationELBID]) != ""
}

// IsMultiCluster reports whether kubernetes.io/elb.multicluster is 'true' (any case, trimmed),
// without validating anything else: the controller uses it to pick which Services to reconcile.
func IsMultiCluster(ann map[string]string) bool {
	return IsTrue(ann, model.AnnotationMultiCluster)
}

// IsTrue reports whether annotation key is 'true' (any case, trimmed), without validating anything else.
func IsTrue(ann map[string]string, key string) bool {
	return strings.EqualFold(strings.TrimSpace(ann[key]), "true")
}

// Parse reads and validates a Service's annotations. All problems are reported at once, as Errors.
func Parse(ann map[string]string) (Config, error) {
	var cfg Config
	var errs Errors
	add := func(e *FieldError) { errs = append(errs, e) }

	cfg.ELBID = strings.TrimSpace(ann[model.AnnotationELBID])
	switch {
	case cfg.ELBID == "":
		add(&FieldError{Annotation: model.AnnotationELBID, Missing: true,
			Problem: "the Service must name an existing ELB (ELBs are never created for a Service)",
			Fix:     "set it to the ID of the ELB to bind"})
	case !validID(cfg.ELBID):
		add(&FieldError{Annotation: model.AnnotationELBID, Value: cfg.ELBID,
			Problem: "an ELB ID has only letters, digits and '-' (at most 64 characters)",
			Fix:     "copy the ELB ID exactly from the ELB console or API"})
	}

	classVal, hasClass := lookup(ann, model.AnnotationClass)
	switch elbrules.Class(strings.ToLower(classVal)) {
	case elbrules.ClassUnion:
		cfg.Class = elbrules.ClassUnion
	case elbrules.ClassPerformance:
		cfg.Class = elbrules.ClassPerformance
	default:
		problem := "the ELB type must be given"
		if hasClass {
			problem = "unknown ELB type"
		}
		add(&FieldError{Annotation: model.AnnotationClass, Value: classVal, Missing: !hasClass,
			Problem: problem,
			Fix:     "set it to 'union' (shared ELB) or 'performance' (dedicated ELB), matching the ELB's type"})
	}

	cfg.MultiCluster = parseBool(ann, model.AnnotationMultiCluster, add,
		"set it to 'true' to share the ELB listener across clusters, or remove it")
	cfg.MultiVPC = parseBool(ann, model.AnnotationMultiVPC, add,
		"set it to 'true' for members in other VPCs (IP-type members), or remove it")

	if cfg.MultiVPC {
		if !cfg.MultiCluster {
			add(&FieldError{Annotation: model.AnnotationMultiVPC, Value: "true",
				Problem: "cross-VPC backends only work on a cross-cluster Service",
				Fix:     "also set " + model.AnnotationMultiCluster + ": 'true', or remove " + model.AnnotationMultiVPC})
		}
		if cfg.Class == elbrules.ClassUnion {
			add(&FieldError{Annotation: model.AnnotationMultiVPC, Value: "true",
				Problem: "cross-VPC (IP-type) backends need a dedicated ELB, and " + model.AnnotationClass + " is 'union'",
				Fix:     "use a 'performance' ELB with IP-type backends enabled, or remove " + model.AnnotationMultiVPC})
		}
	}

	if v, has := lookup(ann, model.AnnotationWeight); has {
		w, err := parseWeight(v)
		if err != nil {
			add(&FieldError{Annotation: model.AnnotationWeight, Value: v, Problem: err.Error(),
				Fix: fmt.Sprintf("set an integer from %d (drain this cluster) to %d, e.g. '80'", elbrules.MinWeight, elbrules.MaxWeight)})
		} else {
			cfg.Weight = &w
		}
	}

	cfg.Recycle = model.RecycleMemberOnly
	if v, has := lookup(ann, model.AnnotationRecyclePolicy); has {
		switch model.RecyclePolicy(strings.ToLower(v)) {
		case model.RecycleMemberOnly:
		case model.RecycleCascade:
			cfg.Recycle = model.RecycleCascade
		default:
			add(&FieldError{Annotation: model.AnnotationRecyclePolicy, Value: v, Problem: "unknown recycle policy",
				Fix: "set 'member-only' (remove only this cluster's members, the default) or 'cascade' (remove the listener, its pool and all members)"})
		}
	}

	parsePool(ann, &cfg.ServiceConfig, add)

	if v, has := lookup(ann, model.AnnotationDeregistrationDelay); has {
		if d, err := ParseDeregistrationDelay(v); err != nil {
			add(&FieldError{Annotation: model.AnnotationDeregistrationDelay, Value: v, Problem: err.Error(),
				Fix: fmt.Sprintf("set a duration such as '30s' or '2m', or a number of seconds such as '30' (0 removes members at once; the default is %s)", model.DefaultDeregistrationDelay)})
		} else {
			cfg.DeregistrationDelay = &d
		}
	}
	cfg.MemberReadyGate = parseBool(ann, model.AnnotationMemberReadyGate, add,
		"set it to 'true' to hold new Pods that list the readiness gate "+model.PodReadinessGate+" un-Ready until their ELB member is ONLINE, or remove it")

	// System-written annotations: unreadable values are ignored, never acted upon.
	if v, has := lookup(ann, model.AnnotationAppliedWeight); has {
		if w, err := parseWeight(v); err == nil {
			cfg.AppliedWeight = &w
		} else {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
				"annotation %s=%q is written by the controller and unreadable (%v); ignored, it will be rewritten", model.AnnotationAppliedWeight, v, err))
		}
	}
	if v, has := lookup(ann, model.AnnotationListenerPort); has {
		ports, err := ParseListenerPorts(v)
		if err != nil {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
				"annotation %s=%q is written by the controller and unreadable (%v); ignored, it will be rewritten", model.AnnotationListenerPort, v, err))
		} else {
			cfg.ListenerPorts = ports
		}
	}

	if len(errs) > 0 {
		return cfg, errs
	}
	return cfg, nil
}

// ParseService parses the Service's annotations and checks them against its ports: cross-VPC
// backends are refused on UDP ports, because the ELB's IP-type backend group must be TCP (R11).
func ParseService(svc *corev1.Service) (Config, error) {
	cfg, err := Parse(svc.Annotations)
	var errs Errors
	if err != nil {
		errs = err.(Errors)
	}
	if hc := cfg.HealthCheck; hc != nil && hc.Type == elbrules.MonitorUDPConnect {
		for _, p := range svc.Spec.Ports {
			if p.Protocol != corev1.ProtocolUDP {
				errs = append(errs, &FieldError{Annotation: model.AnnotationHealthCheckOption, Value: svc.Annotations[model.AnnotationHealthCheckOption],
					Problem: fmt.Sprintf("a UDP health check cannot watch TCP port %s", portName(p)),
					Fix:     `use "protocol": "TCP" or "HTTP" (UDP ports are always checked with UDP)`})
				break
			}
		}
	}
	if cfg.MultiVPC {
		for _, p := range svc.Spec.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				errs = append(errs, &FieldError{Annotation: model.AnnotationMultiVPC, Value: "true",
					Problem: fmt.Sprintf("cross-VPC backends only work on TCP listeners, and port %s is UDP", portName(p)),
					Fix:     "remove the UDP port from this Service (serve it from another Service), or remove " + model.AnnotationMultiVPC})
			}
		}
	}
	if len(errs) > 0 {
		return cfg, errs
	}
	return cfg, nil
}

// FormatListenerPorts renders ports the way R8's write-back stores them: sorted, comma-separated.
func FormatListenerPorts(ports []int32) string {
	sorted := append([]int32(nil), ports...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	parts := make([]string, 0, len(sorted))
	for i, p := range sorted {
		if i > 0 && p == sorted[i-1] {
			continue
		}
		parts = append(parts, strconv.Itoa(int(p)))
	}
	return strings.Join(parts, ",")
}

// ParseListenerPorts reads a value written by FormatListenerPorts ("80" or "80,443").
func ParseListenerPorts(v string) ([]int32, error) {
	var out []int32
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.ParseInt(part, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q is not a port number 1-65535", part)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func portName(p corev1.ServicePort) string {
	if p.Name != "" {
		return fmt.Sprintf("%q (%d)", p.Name, p.Port)
	}
	return strconv.Itoa(int(p.Port))
}

// lookup returns the trimmed value and whether the annotation is present.
func lookup(ann map[string]string, key string) (string, bool) {
	v, ok := ann[key]
	return strings.TrimSpace(v), ok
}

// parseBool accepts 'true' or 'false' (any case); an absent or invalid annotation is false.
func parseBool(ann map[string]string, key string, add func(*FieldError), fix string) bool {
	v, has := lookup(ann, key)
	if !has {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	add(&FieldError{Annotation: key, Value: v, Problem: "the value must be 'true' or 'false'", Fix: fix})
	return false
}

// ParseDeregistrationDelay reads a drain (T1): a Go duration ("45s", "1m30s") or whole seconds
// ("45"), from 0 to model.MaxDeregistrationDelay. The controller's --deregistration-delay flag
// takes the same.
func ParseDeregistrationDelay(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(model.MaxDeregistrationDelay/time.Second) {
			return 0, fmt.Errorf("the delay must be from 0 to %s", model.MaxDeregistrationDelay)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, errors.New("not a duration (e.g. '30s') nor a number of seconds")
	}
	if d < 0 || d > model.MaxDeregistrationDelay {
		return 0, fmt.Errorf("the delay must be from 0 to %s", model.MaxDeregistrationDelay)
	}
	return d, nil
}

// The cluster weight W has the member weight's range: a member standing for every Pod gets W.
var errWeightRange = fmt.Errorf("the weight must be an integer from %d to %d", elbrules.MinWeight, elbrules.MaxWeight)

func parseWeight(v string) (int, error) {
	if v == "" {
		return 0, errors.New("the weight is empty")
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, errWeightRange
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || !elbrules.ValidWeight(n) {
		return 0, errWeightRange
	}
	return n, nil
}

func validID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// parsePool reads the algorithm and health check annotations.
func parsePool(ann map[string]string, cfg *model.ServiceConfig, add func(*FieldError)) {
	if v, has := lookup(ann, model.AnnotationAlgorithm); has {
		if a := strings.ToUpper(v); slices.Contains(elbrules.Algorithms, a) {
			cfg.Algorithm = a
		} else {
			add(&FieldError{Annotation: model.AnnotationAlgorithm, Value: v, Problem: "unknown load-balancing algorithm",
				Fix: "set " + strings.Join(elbrules.Algorithms, ", ") + " (" + model.DefaultAlgorithm + " is the default)"})
		}
	}
	if v, has := lookup(ann, model.AnnotationHealthCheckFlag); has {
		switch strings.ToLower(v) {
		case "on":
		case "off":
			cfg.HealthCheckOff = true
		default:
			add(&FieldError{Annotation: model.AnnotationHealthCheckFlag, Value: v, Problem: "the value must be 'on' or 'off'",
				Fix: "set 'on' (default) to check members' health, or 'off'"})
		}
	}
	v, has := lookup(ann, model.AnnotationHealthCheckOption)
	if !has {
		return
	}
	if cfg.HealthCheckOff {
		add(&FieldError{Annotation: model.AnnotationHealthCheckOption, Value: v, Problem: model.AnnotationHealthCheckFlag + " is 'off'",
			Fix: "remove " + model.AnnotationHealthCheckOption + ", or set " + model.AnnotationHealthCheckFlag + " to 'on'"})
		return
	}
	hm, err := parseHealthCheck(v)
	if err != nil {
		add(&FieldError{Annotation: model.AnnotationHealthCheckOption, Value: v, Problem: err.Error(),
			Fix: `write a JSON object such as {"protocol":"TCP","delay":"5","timeout":"3","max_retries":"3"} (protocol TCP, HTTP with "path", or UDP; a field left out keeps its default)`})
		return
	}
	cfg.HealthCheck = hm
}

func parseHealthCheck(v string) (*model.HealthMonitor, error) {
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(v))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	hm := model.DefaultHealthMonitor() // fields the option leaves out keep the defaults
	for k, val := range raw {
		s := strings.TrimSpace(fmt.Sprint(val)) // CCE writes numbers as strings; accept both
		switch k {
		case "protocol":
			switch p := strings.ToUpper(s); p {
			case elbrules.MonitorTCP, elbrules.MonitorHTTP:
				hm.Type = p
			case "UDP", elbrules.MonitorUDPConnect:
				hm.Type = elbrules.MonitorUDPConnect
			default:
				return nil, fmt.Errorf("protocol %q is not TCP, HTTP or UDP", s)
			}
		case "delay", "timeout", "max_retries":
			n, err := strconv.Atoi(s)
			r, dst := elbrules.MonitorDelay, &hm.Delay
			if k == "timeout" {
				r, dst = elbrules.MonitorTimeout, &hm.Timeout
			} else if k == "max_retries" {
				r, dst = elbrules.MonitorMaxRetries, &hm.MaxRetries
			}
			if err != nil || !r.Contains(n) {
				return nil, fmt.Errorf("%s %q must be an integer from %d to %d", k, s, r.Min, r.Max)
			}
			*dst = int32(n)
		case "path":
			if !strings.HasPrefix(s, "/") {
				return nil, fmt.Errorf("path %q must start with '/'", s)
			}
			hm.URLPath = s
		default:
			return nil, fmt.Errorf("unknown field %q (known: protocol, delay, timeout, max_retries, path)", k)
		}
	}
	if hm.Type == elbrules.MonitorHTTP && hm.URLPath == "" {
		hm.URLPath = "/"
	}
	if hm.Type != elbrules.MonitorHTTP && hm.URLPath != "" {
		return nil, fmt.Errorf("path is only for the HTTP protocol")
	}
	return &hm, nil
}
