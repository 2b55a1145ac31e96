package contract

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// E5. Source: the SDK's services/elb/v3/model/model_batch_member.go (ret_status: "successful" 添加成功,
// "existed" member已存在) and BatchCreateMembers in services/elb/v3/elb_client.go.
func TestBatchCreateMembersAnswersEachMember(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		old := tg.MustV3Member(p.Id, 0, 8080)
		resp, err := tg.V3.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{
			Members: []model.BatchCreateMembersOption{
				{Address: tg.MemberAddress(0), ProtocolPort: 8080, SubnetCidrId: Ptr(tg.SubnetID)},
				{Address: tg.MemberAddress(1), ProtocolPort: 8080, SubnetCidrId: Ptr(tg.SubnetID)},
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		got := *resp.Members
		if len(got) != 2 {
			t.Fatalf("%d members in the answer, want 2: %v", len(got), got)
		}
		byAddr := map[string]model.BatchMember{}
		for _, m := range got {
			byAddr[m.Address] = m
			if m.RetStatus == "successful" {
				tg.CleanupV3Member(p.Id, m.Id)
			}
		}
		if m := byAddr[tg.MemberAddress(0)]; m.RetStatus != "existed" || m.Id != old.Id {
			t.Errorf("the member that was there: ret_status %q id %s; want existed, id %s", m.RetStatus, m.Id, old.Id)
		}
		if m := byAddr[tg.MemberAddress(1)]; m.RetStatus != "successful" || m.Id == "" {
			t.Errorf("the new member: ret_status %q id %q; want successful with an id", m.RetStatus, m.Id)
		}
	})
}

// E5. Source: the SDK's services/elb/v3/model/model_batch_delete_members_state.go (ret_status:
// "successful" 删除成功, "not found" member不存在) and model_batch_delete_members_option.go (a member
// named by id, or by address and protocol_port).
func TestBatchDeleteMembersAnswersEachMember(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		m0 := tg.MustV3Member(p.Id, 0, 8080)
		tg.MustV3Member(p.Id, 1, 8080)
		unknown := uuid.NewString()
		resp, err := tg.V3.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p.Id, Body: &model.BatchDeleteMembersRequestBody{
			Members: []model.BatchDeleteMembersOption{
				{Id: Ptr(m0.Id)},
				{Id: Ptr(unknown)},
				{Address: Ptr(tg.MemberAddress(1)), ProtocolPort: Ptr(int32(8080))},
				{Address: Ptr(tg.MemberAddress(2)), ProtocolPort: Ptr(int32(8080))},
			},
		}})
		if err != nil {
			t.Fatalf("a batch delete naming members that are not there failed as a whole: %v", err)
		}
		got := *resp.Members
		want := []string{"successful", "not found", "successful", "not found"}
		if len(got) != len(want) {
			t.Fatalf("%d answers, want %d: %v", len(got), len(want), got)
		}
		for i, w := range want {
			if got[i].RetStatus != w {
				t.Errorf("members[%d]: ret_status %q, want %q", i, got[i].RetStatus, w)
			}
		}
		if got[0].Id != m0.Id || got[1].Id != unknown {
			t.Errorf("ids %q, %q; want %s (deleted) and %s (not found)", got[0].Id, got[1].Id, m0.Id, unknown)
		}
		ms, err := tg.V3.ListMembers(&model.ListMembersRequest{PoolId: p.Id})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*ms.Members); n != 0 {
			t.Errorf("%d members left after deleting both", n)
		}
	})
}

// E5. Source: BatchCreateMembers and BatchDeleteMembers in the SDK's services/elb/v3/elb_client.go
// ("一次最多创建200个"); the API reference's "批量添加后端服务器" page.
func TestBatchCallsTakeAtMost200Members(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		add := make([]model.BatchCreateMembersOption, 201)
		del := make([]model.BatchDeleteMembersOption, 201)
		for i := range add {
			add[i] = model.BatchCreateMembersOption{Address: tg.MemberAddress(i), ProtocolPort: 8080, SubnetCidrId: Ptr(tg.SubnetID)}
			del[i] = model.BatchDeleteMembersOption{Address: Ptr(tg.MemberAddress(i)), ProtocolPort: Ptr(int32(8080))}
		}
		_, err := tg.V3.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: add}})
		WantError(t, err, http.StatusBadRequest, "")
		_, err = tg.V3.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p.Id, Body: &model.BatchDeleteMembersRequestBody{Members: del}})
		WantError(t, err, http.StatusBadRequest, "")
		ms, err := tg.V3.ListMembers(&model.ListMembersRequest{PoolId: p.Id})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*ms.Members); n != 0 {
			t.Errorf("the refused batch left %d members in the pool, want 0", n)
		}
		if tg.Elbd != nil {
			WantError(t, err2(tg.V3.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: add}})),
				http.StatusBadRequest, "ELB.8902", "201", "200")
		}
	})
}

func err2[T any](_ T, err error) error { return err }
