// Package throttle limits each access key to its configured request rate, as Huawei Cloud's API
// gateway does (E3): a call over the rate is answered 429 with the gateway's throttling code
// APIG.0308 in the usual error envelope, so clients' backoff can be tested against elbd.
package throttle

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// Code is the API gateway's error code for a throttled call. Source: the Huawei Cloud FAQ "How Do
// I Handle the Error APIG.0308?" (status 429, "The throttling threshold has been reached: policy
// user over ratelimit,limit:XX,time:1 second").
const Code = "APIG.0308"

// Limiter holds one token bucket per access key. It is safe for concurrent use.
type Limiter struct {
	rateFor func(accessKey string) *config.RateLimit
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New limits each access key to rateFor(key); a nil rate leaves the key unlimited.
func New(rateFor func(accessKey string) *config.RateLimit) *Limiter {
	return &Limiter{rateFor: rateFor, buckets: map[string]*rate.Limiter{}}
}

// Allow takes one request of accessKey at now from its bucket: nil, or the 429 to answer.
func (l *Limiter) Allow(accessKey string, now time.Time) error {
	rl := l.rateFor(accessKey)
	if rl == nil {
		return nil
	}
	l.mu.Lock()
	b, ok := l.buckets[accessKey]
	if !ok {
		b = rate.NewLimiter(rate.Limit(rl.RequestsPerSecond), rl.BurstOrDefault())
		l.buckets[accessKey] = b
	}
	l.mu.Unlock()
	if b.AllowN(now, 1) {
		return nil
	}
	return &apierr.Error{Status: http.StatusTooManyRequests, Code: Code, Msg: fmt.Sprintf(
		"The throttling threshold has been reached: policy user over ratelimit,limit:%s,time:1 second (access key %s; wait and retry, or raise rateLimit in elbd's config)",
		strconv.FormatFloat(rl.RequestsPerSecond, 'g', -1, 64), accessKey)}
}

// Authenticator verifies a request's signature (auth.Verifier) and then takes it from its access
// key's bucket: only authenticated calls count, so nobody can spend another key's rate.
type Authenticator struct {
	Verifier *auth.Verifier
	Limiter  *Limiter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticate implements the API router's Authenticator.
func (a Authenticator) Authenticate(r *http.Request, projectID string) error {
	id, err := a.Verifier.Identify(r, projectID)
	if err != nil {
		return err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	return a.Limiter.Allow(id.AccessKey, now())
}
