package apiv2_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// TestConcurrentMemberAdds: two clients add overlapping members to one pool at once. Each
// address ends up exactly once; the loser of every overlap gets a 409.
func TestConcurrentMemberAdds(t *testing.T) {
	e := newEnv(t)
	s := createShared(t, e)
	var wg sync.WaitGroup
	var race racing
	for client := 0; client < 2; client++ {
		c := e.v2()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// client 0 adds .100-.109, client 1 adds .105-.114: five addresses overlap.
			for i := 0; i < 10; i++ {
				addr := fmt.Sprintf("127.10.1.%d", 100+client*5+i)
				_, err := c.CreateMember(&model.CreateMemberRequest{PoolId: s.pool.Id, Body: &model.CreateMemberRequestBody{
					Member: &model.CreateMemberReq{Address: addr, ProtocolPort: 80, SubnetId: "subnet-a1"}}})
				race.count(t, "add "+addr, err)
			}
		}()
	}
	wg.Wait()
	if race.done != 15 || race.busy != 5 {
		t.Fatalf("created %d, conflicts %d; want 15 and 5", race.done, race.busy)
	}
	ms, err := e.v2().ListMembers(&model.ListMembersRequest{PoolId: s.pool.Id})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range *ms.Members {
		if seen[m.Address+fmt.Sprint(m.ProtocolPort)] {
			t.Fatalf("member %s:%d twice", m.Address, m.ProtocolPort)
		}
		seen[m.Address+fmt.Sprint(m.ProtocolPort)] = true
	}
	if len(*ms.Members) != 2+15 {
		t.Fatalf("pool has %d members, want 17", len(*ms.Members))
	}
}
