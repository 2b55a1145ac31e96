package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// crashItem is one worker's unit of writes: a listener, its pool, a batch of crashBatch members.
type crashItem struct {
	listener, pool string
	members        []string
}

const crashBatch = 5

// F8 (docs/requirements.md): elbd killed with SIGKILL in the middle of a burst of writes from concurrent SDK clients,
// then restarted on the same store. Every write a client got a 2xx for is there, nothing is
// half-applied (a batch create is all or nothing, no pool without its listener), and the
// clients' retries (elbclient, C5) complete what was in flight, each thing once.
func TestF8KillNineDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	started := time.Now()
	bin := buildElbd(t)
	// Quotas raised: the burst makes more listeners than one load balancer may hold by default.
	cfgText := elbdtest.Config + "quotas: {listener: -1, listeners_per_loadbalancer: -1, pool: -1, member: -1}\n"
	cfgPath := filepath.Join(t.TempDir(), "elbd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	// One address for both runs, so the clients reach the restarted elbd where they left it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	args := []string{"--config", cfgPath, "--data-dir", dataDir, "--api-address", addr}
	p := startElbdProc(t, bin, args...)

	// The load balancer, made before the burst.
	lb, err := client(t, "http://"+addr).CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{Name: ptr("crash"), VipSubnetCidrId: ptr("subnet-a1")}}})
	if err != nil {
		t.Fatal(err)
	}
	lbID := lb.Loadbalancer.Id

	const workers = 6
	sdk := make([]*elbclient.SDK, workers)
	for w := range sdk {
		sdk[w], err = elbclient.New(elbclient.Config{Endpoint: "http://" + addr, ProjectID: "p1", AK: "AK1", SK: "SK1-secret", Timeout: 2 * time.Second,
			QPS: 10000, Burst: 10000, Retry: elbclient.Retry{Attempts: 30, Base: 50 * time.Millisecond, Max: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		acked = map[string]bool{} // IDs a client got a 2xx for
		items [workers][]crashItem
		fails []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	ack := func(id string) {
		mu.Lock()
		defer mu.Unlock()
		acked[id] = true
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			api := sdk[w].API(elbrules.ClassPerformance)
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("crash-%d-%d", w, i)
				fail := func(what string, err error) {
					mu.Lock()
					defer mu.Unlock()
					fails = append(fails, fmt.Sprintf("%s %s: %v", name, what, err))
				}
				l, err := api.CreateListener(ctx, elbclient.ListenerSpec{LoadBalancerID: lbID, Name: name, Description: "mark-" + name, Protocol: "TCP", Port: int32(20000 + w*1000 + i)})
				if err != nil {
					fail("listener", err)
					return
				}
				ack(l.ID)
				pool, err := api.CreatePool(ctx, elbclient.PoolSpec{ListenerID: l.ID, Name: name, Description: "mark-" + name, Protocol: "TCP", Algorithm: "ROUND_ROBIN"})
				if err != nil {
					fail("pool", err)
					return
				}
				ack(pool.ID)
				var specs []elbclient.MemberSpec
				for m := range crashBatch {
					specs = append(specs, elbclient.MemberSpec{Name: fmt.Sprintf("%s-m%d", name, m), Address: fmt.Sprintf("127.10.1.%d", 10+m), Port: int32(8000 + i), Weight: 1 + m, SubnetID: "subnet-a1"})
				}
				added, err := api.AddMembers(ctx, pool.ID, specs)
				if err != nil {
					fail("members", err)
					return
				}
				it := crashItem{listener: l.ID, pool: pool.ID}
				for _, a := range added {
					ack(a.Member.ID)
					it.members = append(it.members, a.Member.ID)
				}
				mu.Lock()
				items[w] = append(items[w], it)
				mu.Unlock()
			}
		}()
	}

	// Let the burst run, then kill -9 elbd in the middle of it.
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
	mu.Lock()
	ackedAtKill := map[string]bool{}
	for id := range acked {
		ackedAtKill[id] = true
	}
	mu.Unlock()

	// The store as the crash left it (opened directly, elbd being dead): every acknowledged
	// write is there and nothing is half-applied.
	checkStore := func(when string, mustHave map[string]bool, complete bool) (listeners, pools, members int) {
		t.Helper()
		st, err := store.Open(dataDir, cfg.Network())
		if err != nil {
			t.Fatalf("%s: opening the store: %v", when, err)
		}
		defer st.Close()
		sc := store.Scope{Family: store.FamilyV3, ProjectID: "p1"}
		ls, err := st.ListListeners(sc)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := st.ListPools(sc)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		listenerOf := map[string]string{} // default pool -> listener
		ports := map[int]int{}
		for _, l := range ls {
			have[l.ID] = true
			ports[l.ProtocolPort]++
			if l.DefaultPoolID != "" {
				listenerOf[l.DefaultPoolID] = l.ID
			}
		}
		for port, n := range ports {
			if n > 1 {
				t.Errorf("%s: %d listeners on port %d", when, n, port)
			}
		}
		names := map[string]int{}
		for _, p := range ps {
			have[p.ID] = true
			names[p.Name]++
			if listenerOf[p.ID] == "" {
				t.Errorf("%s: pool %s (%s) is no listener's default pool", when, p.ID, p.Name)
			}
			ms, err := st.ListMembers(sc, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			// A batch create is all or nothing.
			if len(ms) != 0 && len(ms) != crashBatch || complete && len(ms) != crashBatch {
				t.Errorf("%s: pool %s holds %d members; a batch of %d is all or nothing", when, p.Name, len(ms), crashBatch)
			}
			for _, m := range ms {
				have[m.ID] = true
			}
			members += len(ms)
		}
		for n, c := range names {
			if c > 1 {
				t.Errorf("%s: %d pools named %s (a repeated create made a duplicate)", when, c, n)
			}
		}
		for id := range mustHave {
			if !have[id] {
				t.Errorf("%s: %s was acknowledged but is not in the store", when, id)
			}
		}
		return len(ls), len(ps), members
	}
	l0, p0, m0 := checkStore("after kill -9", ackedAtKill, false)
	t.Logf("at the kill: %d writes acknowledged; the store holds %d listeners, %d pools, %d members", len(ackedAtKill), l0, p0, m0)
	if len(ackedAtKill) < 3*workers {
		t.Errorf("only %d writes were acknowledged before the kill: the burst proves little", len(ackedAtKill))
	}

	// Restart on the same store; the clients' retries carry on, then the burst stops.
	p = startElbdProc(t, bin, args...)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(fails) > 0 {
		t.Errorf("writes that failed for good across the restart:\n%s", strings.Join(fails, "\n"))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
	n := 0
	for w := range items {
		n += len(items[w])
		for _, it := range items[w] {
			if len(it.members) != crashBatch {
				t.Errorf("item with pool %s acknowledged %d members, want %d", it.pool, len(it.members), crashBatch)
			}
		}
	}
	l1, p1, m1 := checkStore("after the restart", acked, true)
	if l1 != n || p1 != n || m1 != n*crashBatch {
		t.Errorf("the store holds %d listeners, %d pools, %d members for %d completed items (each once: %d, %d, %d)", l1, p1, m1, n, n, n, n*crashBatch)
	}
	t.Logf("F8: %d workers, %d items (listener, pool, %d members) completed, %d writes acknowledged in all; test took %s", workers, n, crashBatch, len(acked), time.Since(started).Round(time.Millisecond))
}
