package annotations

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

func ptr(i int) *int { return &i }

// The five manifests of the source document, byte for byte (trailing spaces and comments): the
// repository's one copy, which the demo, the end-to-end and the controller's tests use too.
func TestSeedExamples(t *testing.T) {
	want := map[string]model.ServiceConfig{
		"s1-cluster-a-weight-80.yaml":          {Weight: ptr(80)},
		"s1-cluster-b-weight-20.yaml":          {Weight: ptr(20)},
		"s2-cluster-a-multivpc-weight-80.yaml": {Weight: ptr(80), MultiVPC: true},
		"s2-cluster-b-multivpc-weight-20.yaml": {Weight: ptr(20), MultiVPC: true},
		"s3-cluster-a-with-ecs-weight-80.yaml": {Weight: ptr(80)},
	}
	files, err := filepath.Glob("../../testbed/playground/seed/*.yaml")
	if err != nil || len(files) != len(want) {
		t.Fatalf("want %d seed examples in internal/testbed/playground/seed, got %v (%v)", len(want), files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var svc corev1.Service
			if err := yaml.Unmarshal(raw, &svc); err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseService(&svc)
			if err != nil {
				t.Fatalf("seed example refused: %v", err)
			}
			exp := want[filepath.Base(f)]
			exp.ELBID = "5083f225-9bf8-48fa-9c8b-67bd9693c4c0"
			exp.Class = elbrules.ClassPerformance
			exp.MultiCluster = true
			exp.Recycle = model.RecycleMemberOnly
			if !reflect.DeepEqual(cfg.ServiceConfig, exp) {
				t.Errorf("got %+v\nwant %+v", cfg.ServiceConfig, exp)
			}
			if len(cfg.Warnings) != 0 {
				t.Errorf("unexpected warnings %v", cfg.Warnings)
			}
		})
	}
}

func base() map[string]string {
	return map[string]string{
		model.AnnotationELBID:        "5083f225-9bf8-48fa-9c8b-67bd9693c4c0",
		model.AnnotationClass:        "performance",
		model.AnnotationMultiCluster: "true",
	}
}

func with(kv ...string) map[string]string {
	m := base()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestParseValid(t *testing.T) {
	cases := []struct {
		name  string
		ann   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", base(), func(t *testing.T, c Config) {
			if c.Weight != nil || c.AppliedWeight != nil || c.MultiVPC || c.Recycle != model.RecycleMemberOnly {
				t.Errorf("defaults wrong: %+v", c)
			}
		}},
		{"whitespace trimmed", with(model.AnnotationELBID, "  abc-123 \t", model.AnnotationClass, " union ", model.AnnotationMultiCluster, " TRUE ", model.AnnotationWeight, " 7 "), func(t *testing.T, c Config) {
			if c.ELBID != "abc-123" || c.Class != elbrules.ClassUnion || !c.MultiCluster || *c.Weight != 7 {
				t.Errorf("got %+v", c)
			}
		}},
		{"weight 0 drains", with(model.AnnotationWeight, "0"), func(t *testing.T, c Config) {
			if c.Weight == nil || *c.Weight != 0 {
				t.Errorf("weight %v", c.Weight)
			}
		}},
		{"weight 100", with(model.AnnotationWeight, "100"), func(t *testing.T, c Config) {
			if *c.Weight != 100 {
				t.Errorf("weight %v", *c.Weight)
			}
		}},
		{"cascade", with(model.AnnotationRecyclePolicy, "cascade"), func(t *testing.T, c Config) {
			if c.Recycle != model.RecycleCascade {
				t.Errorf("recycle %v", c.Recycle)
			}
		}},
		{"multicluster false", with(model.AnnotationMultiCluster, "false"), func(t *testing.T, c Config) {
			if c.MultiCluster {
				t.Error("multicluster should be false")
			}
		}},
		{"multicluster absent", with(model.AnnotationMultiCluster, "<delete>"), func(t *testing.T, c Config) {
			if c.MultiCluster {
				t.Error("multicluster should be false")
			}
		}},
		{"system annotations", with(model.AnnotationAppliedWeight, "40", model.AnnotationListenerPort, "443, 80"), func(t *testing.T, c Config) {
			if c.AppliedWeight == nil || *c.AppliedWeight != 40 || !reflect.DeepEqual(c.ListenerPorts, []int32{443, 80}) {
				t.Errorf("got applied %v ports %v", c.AppliedWeight, c.ListenerPorts)
			}
		}},
		{"user-mangled system annotations are ignored with a warning", with(model.AnnotationAppliedWeight, "lots", model.AnnotationListenerPort, "eighty"), func(t *testing.T, c Config) {
			if c.AppliedWeight != nil || c.ListenerPorts != nil || len(c.Warnings) != 2 {
				t.Errorf("got applied %v ports %v warnings %v", c.AppliedWeight, c.ListenerPorts, c.Warnings)
			}
			if !strings.Contains(c.Warnings[1], model.AnnotationListenerPort) || !strings.Contains(c.Warnings[1], "eighty") {
				t.Errorf("warning does not name the annotation and value: %s", c.Warnings[1])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.ann)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name       string
		ann        map[string]string
		annotation string
		value      string
		fixWords   []string
	}{
		{"missing elb id", with(model.AnnotationELBID, "<delete>"), model.AnnotationELBID, "", []string{"missing", "ID of the ELB"}},
		{"blank elb id", with(model.AnnotationELBID, "   "), model.AnnotationELBID, "", []string{"missing"}},
		{"elb id with spaces", with(model.AnnotationELBID, "abc def"), model.AnnotationELBID, "abc def", []string{"copy the ELB ID"}},
		{"missing class", with(model.AnnotationClass, "<delete>"), model.AnnotationClass, "", []string{"'union'", "'performance'"}},
		{"bad class", with(model.AnnotationClass, "dedicated"), model.AnnotationClass, "dedicated", []string{"'union'", "'performance'"}},
		{"bad multicluster", with(model.AnnotationMultiCluster, "yes"), model.AnnotationMultiCluster, "yes", []string{"'true'"}},
		{"weight too big", with(model.AnnotationWeight, "101"), model.AnnotationWeight, "101", []string{"0", "100"}},
		{"weight negative", with(model.AnnotationWeight, "-1"), model.AnnotationWeight, "-1", []string{"0", "100"}},
		{"weight fraction", with(model.AnnotationWeight, "50.5"), model.AnnotationWeight, "50.5", []string{"integer"}},
		{"weight empty", with(model.AnnotationWeight, ""), model.AnnotationWeight, "", []string{"0", "100"}},
		{"weight huge", with(model.AnnotationWeight, "99999999999999999999"), model.AnnotationWeight, "99999999999999999999", []string{"100"}},
		{"unknown policy", with(model.AnnotationRecyclePolicy, "delete-all"), model.AnnotationRecyclePolicy, "delete-all", []string{"member-only", "cascade"}},
		{"multivpc without multicluster", with(model.AnnotationMultiVPC, "true", model.AnnotationMultiCluster, "<delete>"), model.AnnotationMultiVPC, "true", []string{model.AnnotationMultiCluster}},
		{"multivpc on union", with(model.AnnotationMultiVPC, "true", model.AnnotationClass, "union"), model.AnnotationMultiVPC, "true", []string{"performance"}},
		{"bad multivpc", with(model.AnnotationMultiVPC, "1"), model.AnnotationMultiVPC, "1", []string{"'true'"}},
		{"bad algorithm", with(model.AnnotationAlgorithm, "RANDOM"), model.AnnotationAlgorithm, "RANDOM", []string{"LEAST_CONNECTIONS", "SOURCE_IP"}},
		{"bad health flag", with(model.AnnotationHealthCheckFlag, "yes"), model.AnnotationHealthCheckFlag, "yes", []string{"'on'", "'off'"}},
		{"health option not json", with(model.AnnotationHealthCheckOption, "tcp"), model.AnnotationHealthCheckOption, "tcp", []string{"JSON"}},
		{"health option delay", with(model.AnnotationHealthCheckOption, `{"delay":"0"}`), model.AnnotationHealthCheckOption, `{"delay":"0"}`, []string{"delay", "1 to 50"}},
		{"health option retries", with(model.AnnotationHealthCheckOption, `{"max_retries":11}`), model.AnnotationHealthCheckOption, `{"max_retries":11}`, []string{"1 to 10"}},
		{"health option protocol", with(model.AnnotationHealthCheckOption, `{"protocol":"ICMP"}`), model.AnnotationHealthCheckOption, `{"protocol":"ICMP"}`, []string{"ICMP"}},
		{"health option unknown field", with(model.AnnotationHealthCheckOption, `{"interval":"5"}`), model.AnnotationHealthCheckOption, `{"interval":"5"}`, []string{"interval"}},
		{"health option path on tcp", with(model.AnnotationHealthCheckOption, `{"path":"/x"}`), model.AnnotationHealthCheckOption, `{"path":"/x"}`, []string{"HTTP"}},
		{"health option with flag off", with(model.AnnotationHealthCheckFlag, "off", model.AnnotationHealthCheckOption, `{"delay":"5"}`), model.AnnotationHealthCheckOption, `{"delay":"5"}`, []string{model.AnnotationHealthCheckFlag}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.ann)
			if err == nil {
				t.Fatal("expected an error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a FieldError", err)
			}
			if fe.Annotation != tc.annotation || fe.Value != tc.value {
				t.Errorf("error names %s=%q, want %s=%q", fe.Annotation, fe.Value, tc.annotation, tc.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.annotation) {
				t.Errorf("message %q does not name %s", msg, tc.annotation)
			}
			if tc.value != "" && !strings.Contains(msg, tc.value) {
				t.Errorf("message %q does not quote the value %q", msg, tc.value)
			}
			for _, w := range tc.fixWords {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q should mention %q", msg, w)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse(map[string]string{model.AnnotationClass: "x", model.AnnotationWeight: "200", model.AnnotationRecyclePolicy: "nope"})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %T %v", err, err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Annotation)
	}
	want := []string{model.AnnotationELBID, model.AnnotationClass, model.AnnotationWeight, model.AnnotationRecyclePolicy}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems on %v, want %v", got, want)
	}
}

func TestParseServiceRefusesMultiVPCOnUDP(t *testing.T) {
	svc := &corev1.Service{}
	svc.Annotations = with(model.AnnotationMultiVPC, "true")
	svc.Spec.Ports = []corev1.ServicePort{
		{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP},
		{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
	}
	_, err := ParseService(svc)
	if err == nil {
		t.Fatal("multivpc with a UDP port must be refused")
	}
	for _, w := range []string{model.AnnotationMultiVPC, `"dns" (53)`, "UDP", "TCP"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q should mention %q", err, w)
		}
	}
	svc.Annotations = base()
	if _, err := ParseService(svc); err != nil {
		t.Errorf("UDP without multivpc is fine, got %v", err)
	}
}

func TestListenerPortsRoundTrip(t *testing.T) {
	s := FormatListenerPorts([]int32{443, 80, 443, 8080})
	if s != "80,443,8080" {
		t.Fatalf("format = %q", s)
	}
	got, err := ParseListenerPorts(s)
	if err != nil || !reflect.DeepEqual(got, []int32{80, 443, 8080}) {
		t.Fatalf("parse = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "65536", "80,", "a"} {
		if _, err := ParseListenerPorts(bad); err == nil {
			t.Errorf("ParseListenerPorts(%q) should fail", bad)
		}
	}
}

func TestSelectors(t *testing.T) {
	if !IsMultiCluster(map[string]string{model.AnnotationMultiCluster: " True "}) || IsMultiCluster(map[string]string{}) {
		t.Error("IsMultiCluster wrong")
	}
	if HasELBID(map[string]string{model.AnnotationELBID: "  "}) || !HasELBID(base()) {
		t.Error("HasELBID wrong")
	}
}

func TestPoolAnnotations(t *testing.T) {
	c, err := Parse(with(model.AnnotationAlgorithm, " source_ip ", model.AnnotationHealthCheckOption, `{"protocol":"HTTP","delay":"5","timeout":10,"max_retries":"3","path":"/healthz"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &model.HealthMonitor{Type: "HTTP", Delay: 5, Timeout: 10, MaxRetries: 3, URLPath: "/healthz"}
	if c.Algorithm != "SOURCE_IP" || !reflect.DeepEqual(c.HealthCheck, want) || c.HealthCheckOff {
		t.Errorf("got %q %+v", c.Algorithm, c.HealthCheck)
	}
	c, err = Parse(with(model.AnnotationHealthCheckFlag, "off"))
	if err != nil || !c.HealthCheckOff {
		t.Errorf("flag off: %+v %v", c, err)
	}
	c, err = Parse(with(model.AnnotationHealthCheckOption, `{"protocol":"HTTP"}`))
	if err != nil || c.HealthCheck.URLPath != "/" || c.HealthCheck.Delay != 5 {
		t.Errorf("HTTP defaults: %+v %v", c.HealthCheck, err)
	}
	svc := &corev1.Service{}
	svc.Annotations = with(model.AnnotationHealthCheckOption, `{"protocol":"UDP"}`)
	svc.Spec.Ports = []corev1.ServicePort{{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP}}
	if _, err := ParseService(svc); err == nil || !strings.Contains(err.Error(), `"web" (80)`) {
		t.Errorf("a UDP check on a TCP port must be refused, got %v", err)
	}
}

// The fields a health-check-option leaves out take the same defaults as a Service with no option
// at all (TCP every 5 s, timeout 3 s below the delay, 3 retries): one set of defaults, not two.
func TestHealthCheckOptionDefaultsMatchNoOption(t *testing.T) {
	c, err := Parse(with(model.AnnotationHealthCheckOption, `{"protocol":"TCP"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := model.HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}
	if c.HealthCheck == nil || *c.HealthCheck != want {
		t.Errorf("option with only a protocol: %+v, want %+v", c.HealthCheck, want)
	}
	if got := model.DefaultHealthMonitor(); got != want {
		t.Errorf("no option: %+v, want %+v", got, want)
	}
	c, err = Parse(with(model.AnnotationHealthCheckOption, `{"delay":"2"}`))
	if err != nil || c.HealthCheck.Delay != 2 || c.HealthCheck.Timeout != 3 || c.HealthCheck.MaxRetries != 3 {
		t.Errorf("delay only: %+v %v", c.HealthCheck, err)
	}
}

// A class that is present but wrong is not "missing": the message says the value is unknown.
func TestWrongClassIsNotReportedMissing(t *testing.T) {
	_, err := Parse(with(model.AnnotationClass, "dedicated"))
	if err == nil || strings.Contains(err.Error(), "must be given") || !strings.Contains(err.Error(), "unknown ELB type") {
		t.Errorf("got %v", err)
	}
	_, err = Parse(with(model.AnnotationClass, "<delete>"))
	if err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("got %v", err)
	}
}
