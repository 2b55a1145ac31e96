package annotations

import (
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// T1: fleetlb.io/deregistration-delay takes a Go duration or whole seconds, 0 to an hour; a
// wrong value is refused naming the annotation and what to write.
func TestT1_DeregistrationDelay(t *testing.T) {
	for v, want := range map[string]time.Duration{"30": 30 * time.Second, "2s": 2 * time.Second, " 1m30s ": 90 * time.Second, "0": 0, "3600": time.Hour, "1500ms": 1500 * time.Millisecond} {
		ann := base()
		ann[model.AnnotationDeregistrationDelay] = v
		cfg, err := Parse(ann)
		if err != nil || cfg.DeregistrationDelay == nil || *cfg.DeregistrationDelay != want {
			t.Errorf("%s=%q: got %v, %v; want %s", model.AnnotationDeregistrationDelay, v, cfg.DeregistrationDelay, err, want)
		}
	}
	for _, v := range []string{"-5", "-1s", "61m", "3601", "soon", "10 s", ""} {
		ann := base()
		ann[model.AnnotationDeregistrationDelay] = v
		_, err := Parse(ann)
		if err == nil || !strings.Contains(err.Error(), model.AnnotationDeregistrationDelay) || !strings.Contains(err.Error(), "'30s'") {
			t.Errorf("%s=%q: error %v, want a refusal naming the annotation and an example", model.AnnotationDeregistrationDelay, v, err)
		}
	}
	cfg, err := Parse(base())
	if err != nil || cfg.DeregistrationDelay != nil {
		t.Fatalf("without the annotation: %v, %v; want nil (the cluster's default applies)", cfg.DeregistrationDelay, err)
	}
	if got := model.DeregistrationDelay(cfg.ServiceConfig, model.Settings{DeregistrationDelay: model.DefaultDeregistrationDelay}); got != 15*time.Second {
		t.Fatalf("default drain %s, want 15s", got)
	}
}

// T5: fleetlb.io/elb-member-ready is 'true' or 'false'.
func TestT5_MemberReadyGateAnnotation(t *testing.T) {
	ann := base()
	ann[model.AnnotationMemberReadyGate] = "True"
	if cfg, err := Parse(ann); err != nil || !cfg.MemberReadyGate {
		t.Fatalf("%s=True: %v, %v", model.AnnotationMemberReadyGate, cfg.MemberReadyGate, err)
	}
	ann[model.AnnotationMemberReadyGate] = "yes"
	if _, err := Parse(ann); err == nil || !strings.Contains(err.Error(), model.AnnotationMemberReadyGate) {
		t.Fatalf("%s=yes: %v, want a refusal", model.AnnotationMemberReadyGate, err)
	}
}
