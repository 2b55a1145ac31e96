package api_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	elb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// benchQuotas lifts the member quotas, so a pool grows past the default 500 members per round.
const benchQuotas = `
quotas:
  member: -1
  members_per_pool: -1
`

// countedQuotas are member quotas high enough for any benchmark run but not unlimited, so every
// batch counts the members (E1's cost).
const countedQuotas = `
quotas:
  member: 100000000
  members_per_pool: 100000000
`

// benchPool serves the API and creates a TCP pool of a fresh load balancer, then resets the
// benchmark's timer.
func benchPool(b *testing.B) (*env, *elb.ElbClient, model.Pool) { return benchPoolWith(b, benchQuotas) }

func benchPoolWith(b *testing.B, quotas string) (*env, *elb.ElbClient, model.Pool) {
	srv := elbdtest.Start(b, elbdtest.Config+quotas, elbdtest.Options{Dir: b.TempDir(), DataPlane: api.NopDataPlane{}})
	e := &env{t: b, st: srv.Store, srv: srv, syncs: &atomic.Int64{}}
	c := e.c1()
	lb := e.lb(c, false)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	b.ResetTimer()
	return e, c, p
}

// BenchmarkBatchAdd200 measures one signed batch-add of 200 members over HTTP, committed with
// fsync, into a pool that grows by 200 each round.
func BenchmarkBatchAdd200(b *testing.B) { benchBatchAdd200(b, benchQuotas) }

// BenchmarkBatchAdd200CountedQuotas is BenchmarkBatchAdd200 with member quotas that are counted
// on every batch (the pool's and the project's members), as with the real defaults.
func BenchmarkBatchAdd200CountedQuotas(b *testing.B) { benchBatchAdd200(b, countedQuotas) }

func benchBatchAdd200(b *testing.B, quotas string) {
	_, c, p := benchPoolWith(b, quotas)
	for i := 0; i < b.N; i++ {
		ms := make([]model.BatchCreateMembersOption, 200)
		for j := range ms {
			ms[j] = model.BatchCreateMembersOption{Address: fmt.Sprintf("127.10.1.%d", 2+j), ProtocolPort: int32(1 + i%60000), SubnetCidrId: ptr("subnet-a1")}
		}
		if _, err := c.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: ms}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateMember measures one signed single-member create over HTTP with fsync.
func BenchmarkCreateMember(b *testing.B) {
	e, c, p := benchPool(b)
	for i := 0; i < b.N; i++ {
		if _, err := e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.9", ProtocolPort: ptr(int32(1 + i%65000)), SubnetCidrId: ptr("subnet-a1")}); err != nil {
			b.Fatal(err)
		}
	}
}
