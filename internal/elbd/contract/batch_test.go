package contract

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// E5. Source: the SDK's services/elb/v3/model/model_batch_member.go (ret_status: "successful" 添加成功,
// "existed" member已存在) and BatchCreateMembers in services/elb/v3/elb_client.go.
func TestBatchCreateMembersAnswersEachMember(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		old, err := tg.V3Member(p.Id, 0, 8080)
		if err != nil {
			t.Fatal(err)
		}
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
