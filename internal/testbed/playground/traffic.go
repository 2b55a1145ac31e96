package playground

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

// Tally counts who answered the requests sent through a VIP.
type Tally struct {
	Sent   int
	Failed int
	// Resets are the failures where the connection was reset (ECONNRESET),
	// counted among Failed too.
	Resets int
	// ByBackend counts answers by the identity the backend sent:
	// CLUSTER/NODE/POD for a pod, the VM's name for a VM.
	ByBackend map[string]int
	// Errors are the first few failures, for messages.
	Errors []string
}

// ByOwner sums the answers by owner: the cluster for a pod (the first part of
// CLUSTER/NODE/POD), the name for anything else.
func (t Tally) ByOwner() map[string]int {
	out := map[string]int{}
	for id, n := range t.ByBackend {
		out[OwnerOfIdentity(id)] += n
	}
	return out
}

// OwnerOfIdentity is the cluster of a pod identity CLUSTER/NODE/POD, or the
// identity itself (a VM's name).
func OwnerOfIdentity(id string) string {
	owner, _, _ := strings.Cut(id, "/")
	return owner
}

func (t *Tally) add(o Tally) {
	if t.ByBackend == nil {
		t.ByBackend = map[string]int{}
	}
	t.Sent += o.Sent
	t.Failed += o.Failed
	t.Resets += o.Resets
	for k, v := range o.ByBackend {
		t.ByBackend[k] += v
	}
	for _, e := range o.Errors {
		if len(t.Errors) < 5 {
			t.Errors = append(t.Errors, e)
		}
	}
}

// Client sends HTTP GETs to one address, each on a new TCP connection, as
// many independent users would.
type Client struct {
	addr string
}

// NewClient targets addr (VIP:port).
func NewClient(addr string) *Client { return &Client{addr: addr} }

// Get sends one request and returns the backend's identity.
func (c *Client) Get(ctx context.Context) (string, error) { return httpserve.Ask(ctx, c.addr) }

// Send sends n requests with a few workers and counts the answers.
func (c *Client) Send(ctx context.Context, n int) Tally {
	const workers = 8
	var next atomic.Int64
	parts := make([]Tally, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := Tally{ByBackend: map[string]int{}}
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				c.one(ctx, &t)
			}
			parts[w] = t
		}()
	}
	wg.Wait()
	var total Tally
	for _, p := range parts {
		total.add(p)
	}
	return total
}

func (c *Client) one(ctx context.Context, t *Tally) {
	t.Sent++
	id, err := c.Get(ctx)
	if err != nil {
		if ctx.Err() != nil { // cancelled, not a failure of the ELB
			t.Sent--
			return
		}
		t.Failed++
		if errors.Is(err, syscall.ECONNRESET) {
			t.Resets++
		}
		if len(t.Errors) < 5 {
			t.Errors = append(t.Errors, err.Error())
		}
		return
	}
	t.ByBackend[id]++
}

// Background is traffic that runs until stopped.
type Background struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	tally  Tally
	cut    Tally // tally at the last Mark
}

// Run starts sending requests continuously (two workers) until Stop.
func (c *Client) Run() *Background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Background{cancel: cancel, done: make(chan struct{}), tally: Tally{ByBackend: map[string]int{}}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := Tally{ByBackend: map[string]int{}}
				c.one(ctx, &t)
				b.mu.Lock()
				b.tally.add(t)
				b.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(b.done) }()
	return b
}

// RunPaced starts opening perSecond new connections a second (each: connect,
// request, read the answer, close), as many independent users would, until
// Stop; a connection that takes long does not hold back the next ones.
func (c *Client) RunPaced(perSecond int) *Background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Background{cancel: cancel, done: make(chan struct{}), tally: Tally{ByBackend: map[string]int{}}}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	go func() {
		defer close(b.done)
		defer wg.Wait()
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := Tally{ByBackend: map[string]int{}}
				c.one(ctx, &t)
				b.mu.Lock()
				b.tally.add(t)
				b.mu.Unlock()
			}()
		}
	}()
	return b
}

// Mark starts a new period: Since then counts only what follows.
func (b *Background) Mark() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cut = copyTally(b.tally)
}

// Since returns what was counted since the last Mark (or the start).
func (b *Background) Since() Tally {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := Tally{Sent: b.tally.Sent - b.cut.Sent, Failed: b.tally.Failed - b.cut.Failed, Resets: b.tally.Resets - b.cut.Resets, ByBackend: map[string]int{}}
	for k, v := range b.tally.ByBackend {
		if d := v - b.cut.ByBackend[k]; d > 0 {
			out.ByBackend[k] = d
		}
	}
	if len(b.tally.Errors) > len(b.cut.Errors) {
		out.Errors = append(out.Errors, b.tally.Errors[len(b.cut.Errors):]...)
	}
	return out
}

// Stop ends the traffic and returns everything counted since Run.
func (b *Background) Stop() Tally {
	b.cancel()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return copyTally(b.tally)
}

func copyTally(t Tally) Tally {
	out := Tally{Sent: t.Sent, Failed: t.Failed, Resets: t.Resets, ByBackend: map[string]int{}, Errors: append([]string(nil), t.Errors...)}
	for k, v := range t.ByBackend {
		out.ByBackend[k] = v
	}
	return out
}
