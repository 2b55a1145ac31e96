package api_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// A batch delete that names one member twice (by id twice, or by id and by address and port) is
// a 400 and deletes nothing (docs/elb-compatibility.md row 5b), rather than deleting the member
// and answering the second ref "not found".
func TestBatchDeleteNamingAMemberTwiceDeletesNothing(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	m, err := e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")})
	if err != nil {
		t.Fatal(err)
	}
	for name, refs := range map[string][]model.BatchDeleteMembersOption{
		"id twice":         {{Id: &m.Id}, {Id: &m.Id}},
		"id, then address": {{Id: &m.Id}, {Address: ptr("127.10.1.10"), ProtocolPort: ptr(int32(80))}},
		"address, then id": {{Address: ptr("127.10.1.10"), ProtocolPort: ptr(int32(80))}, {Id: &m.Id}},
		"address twice":    {{Address: ptr("127.10.1.10"), ProtocolPort: ptr(int32(80))}, {Address: ptr("127.10.1.10"), ProtocolPort: ptr(int32(80))}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p.Id, Body: &model.BatchDeleteMembersRequestBody{Members: refs}})
			wantErr(t, err, 400, "ELB.8902", "members[1]", "named twice")
			if _, err := c.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id}); err != nil {
				t.Fatalf("the refused batch deleted the member: %v", err)
			}
		})
	}
}
