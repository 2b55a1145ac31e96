package elbclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"golang.org/x/time/rate"
)

// How a call survives a busy, throttled or slow ELB API (issue "safe on a real cloud", C5). What
// the real API does, and what we learnt from how terraform-provider-huaweicloud lives with it:
//
//   - A shared (v2) load balancer is PENDING_CREATE / PENDING_UPDATE / PENDING_DELETE for a while
//     after every change, and refuses the next write with 409 until it is ACTIVE again. A 409
//     while the load balancer is PENDING_* is "busy": wait until ACTIVE, then repeat the call.
//     A 409 while it is ACTIVE is a real conflict (a listener port taken, ...): returned at once.
//   - API Gateway throttles with 429 (APIG.0308) before the call reaches the ELB: repeat it after a
//     jittered exponential backoff.
//   - A 5xx, a timeout or a broken connection leaves a write's outcome unknown: its reply may be
//     lost after the ELB did it. Updates and deletes are repeated as they are (a delete that then
//     finds nothing has succeeded); a create first looks for what it would make (by name and
//     mark, or by address and port for members) and repeats only if it is not there, so a lost
//     reply never makes a duplicate.
//   - Every call, reads included, first waits for the client-side rate limiter (--elb-qps,
//     --elb-burst), so a fleet of controllers stays under the API's limits.
//
// Every repeat is bounded (Retry.Attempts, Retry.BusyWait) and stops with the context.

// Retry bounds the repeats of one call. Zero fields take the defaults.
type Retry struct {
	// Attempts is how many times one call is made at most. Default 5.
	Attempts int
	// Base is the first pause; each further one doubles, up to Max, with ±50% jitter. Defaults
	// 500ms and 10s.
	Base, Max time.Duration
	// BusyWait is how long a busy (PENDING_*) load balancer is waited for. Default 2 minutes.
	BusyWait time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Base <= 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 10 * time.Second
	}
	if r.Max < r.Base {
		r.Max = r.Base
	}
	if r.BusyWait <= 0 {
		r.BusyWait = 2 * time.Minute
	}
	return r
}

// pause is the jittered exponential backoff before attempt n+1 (n ≥ 1).
func (r Retry) pause(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	// ±50%: controllers throttled together do not come back together.
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

// Default client-side rate limit of all ELB calls of one controller (--elb-qps, --elb-burst).
const (
	DefaultQPS   = 10
	DefaultBurst = 20
)

func newLimiter(qps float64, burst int) *rate.Limiter {
	if qps <= 0 {
		qps = DefaultQPS
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	return rate.NewLimiter(rate.Limit(qps), burst)
}

// kind says how a call may be repeated after a failure whose outcome is unknown.
type kind int

const (
	kindRead   kind = iota // repeat freely
	kindUpdate             // idempotent: repeat freely
	kindDelete             // repeat; not found after an unknown outcome is success
	kindCreate             // look for what it made (found) before repeating
)

type lbKey struct{}

// WithLoadBalancer returns a context whose calls are about resources of load balancer id (the
// deployer sets it once it has read the load balancer): a 409 is then checked against the load
// balancer's provisioning_status, and a busy one waited out.
func WithLoadBalancer(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, lbKey{}, id)
}

func loadBalancerOf(ctx context.Context) string {
	id, _ := ctx.Value(lbKey{}).(string)
	return id
}

// call makes one API call through the rate limiter, repeating it as the package doc says. fn makes
// the call and returns the SDK's error; found (kindCreate only) reports whether what the call
// creates exists after all (and keeps it for the caller). lbID may be "" (then the context's).
func (c *SDK) call(ctx context.Context, v2 bool, op string, k kind, lbID string, fn func() error, found func() (bool, error)) error {
	if lbID == "" {
		lbID = loadBalancerOf(ctx)
	}
	unknown := false // an earlier attempt's outcome is unknown
	var err error
	for n := 1; ; n++ {
		if e := ctx.Err(); e != nil {
			return e
		}
		if unknown && k == kindCreate && found != nil {
			if e := c.limiter.Wait(ctx); e != nil {
				return err
			}
			ok, ferr := found()
			if ferr == nil && ok {
				return nil
			}
		}
		if e := c.limiter.Wait(ctx); e != nil {
			return fmt.Errorf("ELB %s: waiting for the client-side rate limit (--elb-qps): %w", op, e)
		}
		if k != kindRead {
			c.wrote(ctx)
		}
		err = classify(op, fn())
		if err == nil {
			return nil
		}
		if k == kindDelete && unknown && errors.Is(err, ErrNotFound) {
			return nil // the earlier attempt did it
		}
		if n >= c.retry.Attempts {
			return err
		}
		switch {
		case errors.Is(err, ErrThrottled):
			c.retries.Add(1)
			if e := Sleep(ctx, c.retry.pause(n)); e != nil {
				return err
			}
		case errors.Is(err, ErrConflict) && k != kindRead:
			busy, werr := c.waitActive(ctx, v2, lbID, err)
			if werr != nil {
				return werr
			}
			if !busy {
				return err // a real conflict
			}
			c.retries.Add(1)
		case errors.Is(err, ErrServer) || errors.Is(err, ErrUnreachable) || errors.Is(err, context.DeadlineExceeded):
			if k != kindRead {
				unknown = true
			}
			c.retries.Add(1)
			if e := Sleep(ctx, c.retry.pause(n)); e != nil {
				return err
			}
		default:
			return err
		}
	}
}

// pendingStatus: a load balancer in one of these states refuses writes with 409 until ACTIVE.
func pendingStatus(s string) bool { return strings.HasPrefix(strings.ToUpper(s), "PENDING_") }

// waitActive decides whether conflict (a 409) came from a busy load balancer, and if so waits
// until its provisioning_status is ACTIVE again. busy is false for a real conflict: the load
// balancer is unknown, or ACTIVE and the error does not name a PENDING_ state.
func (c *SDK) waitActive(ctx context.Context, v2 bool, lbID string, conflict error) (busy bool, err error) {
	if lbID == "" {
		return false, nil
	}
	saysPending := strings.Contains(strings.ToUpper(conflict.Error()), "PENDING_")
	deadline := time.Now().Add(c.retry.BusyWait)
	for n := 1; ; n++ {
		status, err := c.provisioningStatus(ctx, v2, lbID)
		if err != nil {
			return false, fmt.Errorf("%w (and reading the load balancer's provisioning_status failed: %v)", conflict, err)
		}
		if !pendingStatus(status) {
			return n > 1 || saysPending, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%w: load balancer %s stayed %s for %s; will retry later", conflict, lbID, status, c.retry.BusyWait)
		}
		if err := Sleep(ctx, min(c.retry.pause(n), time.Until(deadline)+time.Millisecond)); err != nil {
			return false, err
		}
	}
}

// provisioningStatus reads a load balancer's provisioning_status (v3 ShowLoadBalancer,
// model_load_balancer.go; v2 ShowLoadbalancer, model_loadbalancer_resp.go), through the limiter.
func (c *SDK) provisioningStatus(ctx context.Context, v2 bool, lbID string) (string, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return "", err
	}
	if v2 {
		r, err := c.v2.ShowLoadbalancer(&v2model.ShowLoadbalancerRequest{LoadbalancerId: lbID})
		if err != nil {
			return "", classify("v2 ShowLoadbalancer", err)
		}
		if r.Loadbalancer == nil {
			return "", &APIError{Op: "v2 ShowLoadbalancer", Kind: ErrServer, Message: "response without a load balancer"}
		}
		return r.Loadbalancer.ProvisioningStatus.Value(), nil
	}
	r, err := c.v3.ShowLoadBalancer(&v3model.ShowLoadBalancerRequest{LoadbalancerId: lbID})
	if err != nil {
		return "", classify("v3 ShowLoadBalancer", err)
	}
	if r.Loadbalancer == nil {
		return "", &APIError{Op: "v3 ShowLoadBalancer", Kind: ErrServer, Message: "response without a load balancer"}
	}
	return r.Loadbalancer.ProvisioningStatus, nil
}

// Sleep waits d, or less when ctx ends first (then it returns ctx.Err()): the pause between
// retries of ELB calls, here and in the deployer.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
