package throttle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

func TestEachKeyHasItsOwnBucket(t *testing.T) {
	rates := map[string]*config.RateLimit{"AK1": {RequestsPerSecond: 2, Burst: 3}}
	l := New(func(ak string) *config.RateLimit { return rates[ak] })
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		if err := l.Allow("AK1", t0); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	err := l.Allow("AK1", t0)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != "APIG.0308" ||
		!strings.Contains(ae.Msg, "The throttling threshold has been reached") || !strings.Contains(ae.Msg, "limit:2,time:1 second") {
		t.Fatalf("the 4th call at once: %v; want 429 APIG.0308 naming the limit", err)
	}
	for i := range 10 {
		if err := l.Allow("AK2", t0); err != nil {
			t.Fatalf("an unlimited key was throttled at call %d: %v", i, err)
		}
	}
	// Half a second refills one token at 2/s.
	if err := l.Allow("AK1", t0.Add(500*time.Millisecond)); err != nil {
		t.Errorf("after the refill: %v", err)
	}
	if err := l.Allow("AK1", t0.Add(500*time.Millisecond)); err == nil {
		t.Error("a second call on one refilled token was allowed")
	}
}
