package elbclient

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
)

// Reads reused within one piece of work (F14): one reconcile looks at the same load balancer, the
// same port's listeners and the same pool's members from several steps (the fleet records before
// Apply, Apply, the fleet view after it); through a context made by WithReadReuse each identical
// read is sent once, and answered again from memory until a write is made through the context.
// Nothing outlives the context: every reconcile reads the ELB afresh.

type reuseKey struct{}

type readReuse struct {
	mu   sync.Mutex
	seen map[string]any // op and request → the response
}

// WithReadReuse returns a context whose read calls are answered from an identical earlier read
// made through it, as long as no write has been made through it since: any write forgets every
// read but the load balancer's own (no call of this client changes a load balancer).
func WithReadReuse(ctx context.Context) context.Context {
	return context.WithValue(ctx, reuseKey{}, &readReuse{seen: map[string]any{}})
}

func reuseOf(ctx context.Context) *readReuse {
	r, _ := ctx.Value(reuseKey{}).(*readReuse)
	return r
}

// reuseKeyOf names a read by its operation and request ("" when the request cannot be encoded).
func reuseKeyOf(op string, req any) string {
	b, err := json.Marshal(req)
	if err != nil {
		return ""
	}
	return op + " " + string(b)
}

func (r *readReuse) get(key string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.seen[key]
	return v, ok
}

func (r *readReuse) put(key string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[key] = v
}

// keepsAcrossWrites: a load balancer read (v3 ShowLoadBalancer, v2 ShowLoadbalancer).
func keepsAcrossWrites(key string) bool {
	return strings.HasPrefix(key, "v3 ShowLoadBalancer ") || strings.HasPrefix(key, "v2 ShowLoadbalancer ")
}

// forgetReads drops what the context's reads answered, after a write through it.
func forgetReads(ctx context.Context) {
	r := reuseOf(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.seen {
		if !keepsAcrossWrites(k) {
			delete(r.seen, k)
		}
	}
}
