package api_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

func TestMemberLifecycle(t *testing.T) {
	e, c, lb, l, p := newEnvStack(t, false)

	resp := must[*model.CreateMemberResponse](t)(c.CreateMember(&model.CreateMemberRequest{PoolId: p.Id, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(8080)), SubnetCidrId: ptr("subnet-a1"), Name: ptr("vm-1")}}}))
	m := resp.Member
	if resp.HttpStatusCode != 201 || m.Address != "127.10.1.10" || m.ProtocolPort != 8080 || m.Weight != 1 || !m.AdminStateUp ||
		*m.SubnetCidrId != "subnet-a1" || *m.MemberType != "instance" || m.Name != "vm-1" || m.OperatingStatus != "NO_MONITOR" ||
		len(m.Status) != 1 || m.Status[0].ListenerId != l.Id || m.ProjectId != "p1" {
		t.Fatalf("created member %d %+v", resp.HttpStatusCode, m)
	}
	shown := must[*model.ShowMemberResponse](t)(c.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id}))
	if shown.Member.Id != m.Id || shown.Member.Weight != 1 {
		t.Errorf("show %+v", shown.Member)
	}
	up := must[*model.UpdateMemberResponse](t)(c.UpdateMember(&model.UpdateMemberRequest{PoolId: p.Id, MemberId: m.Id,
		Body: &model.UpdateMemberRequestBody{Member: &model.UpdateMemberOption{Weight: ptr(int32(0)), Name: ptr("drained"), AdminStateUp: ptr(false)}}}))
	if up.Member.Weight != 0 || up.Member.Name != "drained" || up.Member.AdminStateUp || up.Member.Address != "127.10.1.10" {
		t.Errorf("update %+v", up.Member)
	}
	_, err := c.UpdateMember(&model.UpdateMemberRequest{PoolId: p.Id, MemberId: m.Id,
		Body: &model.UpdateMemberRequestBody{Member: &model.UpdateMemberOption{Weight: ptr(int32(101))}}})
	wantErr(t, err, 400, "ELB.8902", "weight 101 is out of range")
	_, err = c.UpdateMember(&model.UpdateMemberRequest{PoolId: p.Id, MemberId: m.Id,
		Body: &model.UpdateMemberRequestBody{Member: &model.UpdateMemberOption{ProtocolPort: ptr(int32(9))}}})
	wantErr(t, err, 400, "ELB.8902", "protocol_port cannot be changed")

	// A member is found only under its own pool.
	p2 := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	_, err = c.ShowMember(&model.ShowMemberRequest{PoolId: p2.Id, MemberId: m.Id})
	wantErr(t, err, 404, "ELB.8904", m.Id)
	_, err = c.DeleteMember(&model.DeleteMemberRequest{PoolId: p2.Id, MemberId: m.Id})
	wantErr(t, err, 404, "ELB.8904")

	if d := must[*model.DeleteMemberResponse](t)(c.DeleteMember(&model.DeleteMemberRequest{PoolId: p.Id, MemberId: m.Id})); d.HttpStatusCode != http.StatusNoContent {
		t.Errorf("delete status %d", d.HttpStatusCode)
	}
	_, err = c.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id})
	wantErr(t, err, 404, "ELB.8904")
}

func TestMemberRules(t *testing.T) {
	e, c, plain := newEnvLB(t, false)
	ipLB := e.lb(c, true)
	tcp := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &plain.Id})
	ipTCP := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &ipLB.Id})
	ipUDP := e.pool(c, model.CreatePoolOption{Protocol: "UDP", LoadbalancerId: &ipLB.Id})
	ipOnly := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &ipLB.Id, Type: ptr("ip")})
	instOnly := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &ipLB.Id, Type: ptr("instance"), VpcId: &ipLB.VpcId})
	port := ptr(int32(80))

	for _, tc := range []struct {
		name     string
		pool     string
		opt      model.CreateMemberOption
		status   int
		code     string
		fragment []string
	}{
		{"address outside subnet", tcp.Id, model.CreateMemberOption{Address: "127.10.2.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1")}, 400, "ELB.8902", []string{"127.10.2.10 is not in subnet subnet-a1 (127.10.1.0/24)"}},
		{"subnet of another VPC", ipTCP.Id, model.CreateMemberOption{Address: "127.20.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-b1")}, 400, "ELB.8902", []string{"subnet subnet-b1 is in VPC vpc-b", "is in VPC vpc-a", "IP-type (cross-VPC) member"}},
		{"unknown subnet", tcp.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-x")}, 400, "ELB.8902", []string{`subnet_cidr_id "subnet-x" is not a known subnet`}},
		{"not an address", tcp.Id, model.CreateMemberOption{Address: "host.example", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1")}, 400, "ELB.8902", []string{"not an IPv4 address"}},
		{"port 0", tcp.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(0)), SubnetCidrId: ptr("subnet-a1")}, 400, "ELB.8902", []string{"protocol_port 0 is out of range"}},
		{"no port", tcp.Id, model.CreateMemberOption{Address: "127.10.1.10", SubnetCidrId: ptr("subnet-a1")}, 400, "ELB.8902", []string{"protocol_port is required"}},
		{"weight 101", tcp.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(101))}, 400, "ELB.8902", []string{"weight 101 is out of range", "0-100"}},
		{"weight -1", tcp.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(-1))}, 400, "ELB.8902", []string{"weight -1"}},
		{"IP-type without ip_target_enable", tcp.Id, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: port}, 400, "ELB.8902", []string{"IP-type member", "ip_target_enable", plain.Id}},
		{"IP-type with a public address", ipTCP.Id, model.CreateMemberOption{Address: "8.8.8.8", ProtocolPort: port}, 400, "ELB.8902", []string{"8.8.8.8 must be a private IPv4 address"}},
		{"IP-type in a UDP pool", ipUDP.Id, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: port}, 400, "ELB.8902", []string{"only in TCP, HTTP or HTTPS pools", "UDP"}},
		{"instance member in an ip pool", ipOnly.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1")}, 400, "ELB.8902", []string{"of type ip and takes only IP-type members"}},
		{"IP member in an instance pool", instOnly.Id, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: port}, 400, "ELB.8902", []string{"of type instance and takes only members with a subnet"}},
		{"unknown pool", "no-pool", model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a1")}, 404, "ELB.8904", []string{"no-pool"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.member(c, tc.pool, tc.opt)
			wantErr(t, err, tc.status, tc.code, tc.fragment...)
		})
	}

	// Allowed: IP-type members in TCP pools of an ip_target_enable LB (typed ip or untyped);
	// members of other subnets of the address plan.
	for _, pool := range []string{ipTCP.Id, ipOnly.Id} {
		m, err := e.member(c, pool, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: port, Weight: ptr(int32(100))})
		if err != nil {
			t.Fatal(err)
		}
		if *m.MemberType != "ip" || m.SubnetCidrId != nil || m.Weight != 100 {
			t.Errorf("IP-type member %+v", m)
		}
	}
	if _, err := e.member(c, instOnly.Id, model.CreateMemberOption{Address: "127.10.2.10", ProtocolPort: port, SubnetCidrId: ptr("subnet-a2")}); err != nil {
		t.Fatal(err)
	}
	// Same address and port twice → 409; another port is another member.
	_, err := e.member(c, ipTCP.Id, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: port})
	wantErr(t, err, 409, "ELB.8907", "already has member", "10.1.1.1 and port 80")
	if _, err := e.member(c, ipTCP.Id, model.CreateMemberOption{Address: "10.1.1.1", ProtocolPort: ptr(int32(81))}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchMembers(t *testing.T) {
	e, c, lb := newEnvLB(t, true)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	existing := must[*model.Member](t)(e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(7))}))

	add := func(ms []model.BatchCreateMembersOption) (*model.BatchCreateMembersResponse, error) {
		return c.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: ms}})
	}
	resp := must[*model.BatchCreateMembersResponse](t)(add([]model.BatchCreateMembersOption{
		{Address: "127.10.1.10", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(50))},
		{Address: "127.10.1.11", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1"), Name: ptr("b")},
		{Address: "10.0.0.5", ProtocolPort: 80, Weight: ptr(int32(30))},
	}))
	got := *resp.Members
	if resp.HttpStatusCode != 200 || len(got) != 3 {
		t.Fatalf("batch add %d %+v", resp.HttpStatusCode, got)
	}
	if got[0].RetStatus != "existed" || got[0].Id != existing.Id || got[0].Weight != 7 {
		t.Errorf("existing member reported %+v, want existed and unchanged (weight 7)", got[0])
	}
	if got[1].RetStatus != "successful" || got[1].Weight != 1 || got[1].Name != "b" || *got[1].MemberType != "instance" {
		t.Errorf("new member %+v", got[1])
	}
	if got[2].RetStatus != "successful" || *got[2].MemberType != "ip" || got[2].Weight != 30 {
		t.Errorf("new IP member %+v", got[2])
	}

	// One bad member fails the whole batch, naming it; nothing is added.
	_, err := add([]model.BatchCreateMembersOption{
		{Address: "127.10.1.12", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1")},
		{Address: "127.10.9.9", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1")},
	})
	wantErr(t, err, 400, "ELB.8902", "members[1]", "not in subnet subnet-a1")
	_, err = add([]model.BatchCreateMembersOption{
		{Address: "127.10.1.12", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1")},
		{Address: "127.10.1.12", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1")},
	})
	wantErr(t, err, 400, "ELB.8902", "members[0] and members[1]")
	tooMany := make([]model.BatchCreateMembersOption, 201)
	for i := range tooMany {
		tooMany[i] = model.BatchCreateMembersOption{Address: fmt.Sprintf("127.10.1.%d", 2+i%250), ProtocolPort: int32(1000 + i), SubnetCidrId: ptr("subnet-a1")}
	}
	_, err = add(tooMany)
	wantErr(t, err, 400, "ELB.8902", "201 members", "at most 200")
	_, err = add(nil)
	wantErr(t, err, 400, "ELB.8902", "non-empty")
	list := must[*model.ListMembersResponse](t)(c.ListMembers(&model.ListMembersRequest{PoolId: p.Id}))
	if len(*list.Members) != 3 {
		t.Fatalf("pool has %d members after failed batches, want 3", len(*list.Members))
	}
	// 200 at once is fine.
	if r, err := add(tooMany[:200]); err != nil || len(*r.Members) != 200 {
		t.Fatalf("batch of 200: %v", err)
	}

	// Batch update: weights of two members at once; an unknown ID changes nothing.
	upd := must[*model.BatchUpdateMembersResponse](t)(c.BatchUpdateMembers(&model.BatchUpdateMembersRequest{PoolId: p.Id, Body: &model.BatchUpdateMembersRequestBody{
		Members: []model.BatchUpdateMembersOption{{Id: got[1].Id, Weight: ptr(int32(40))}, {Id: got[2].Id, Weight: ptr(int32(0)), Name: ptr("drain")}}}}))
	if ms := *upd.Members; len(ms) != 2 || ms[0].Weight != 40 || ms[1].Weight != 0 || ms[1].Name != "drain" {
		t.Errorf("batch update %+v", ms)
	}
	_, err = c.BatchUpdateMembers(&model.BatchUpdateMembersRequest{PoolId: p.Id, Body: &model.BatchUpdateMembersRequestBody{
		Members: []model.BatchUpdateMembersOption{{Id: got[1].Id, Weight: ptr(int32(99))}, {Id: "nope", Weight: ptr(int32(1))}}}})
	wantErr(t, err, 404, "ELB.8904", "nope")
	_, err = c.BatchUpdateMembers(&model.BatchUpdateMembersRequest{PoolId: p.Id, Body: &model.BatchUpdateMembersRequestBody{
		Members: []model.BatchUpdateMembersOption{{Id: got[1].Id, Weight: ptr(int32(200))}}}})
	wantErr(t, err, 400, "ELB.8902", "members[0]", "weight 200")
	if m := must[*model.ShowMemberResponse](t)(c.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: got[1].Id})); m.Member.Weight != 40 {
		t.Errorf("weight %d after failed batch updates, want 40", m.Member.Weight)
	}

	// Batch delete by id and by address+port; a malformed ref deletes nothing (an unknown one is
	// answered "not found": the contract suite's TestBatchDeleteMembersAnswersEachMember).
	del := func(refs []model.BatchDeleteMembersOption) (*model.BatchDeleteMembersResponse, error) {
		return c.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p.Id, Body: &model.BatchDeleteMembersRequestBody{Members: refs}})
	}
	_, err = del([]model.BatchDeleteMembersOption{{Address: ptr("127.10.1.10")}})
	wantErr(t, err, 400, "ELB.8902", "either id, or address and protocol_port")
	// As the real API: an id with an address or port is refused, not half-honoured.
	_, err = del([]model.BatchDeleteMembersOption{{Id: &existing.Id, Address: ptr("127.10.1.10"), ProtocolPort: ptr(int32(80))}})
	wantErr(t, err, 400, "ELB.8902", "members[0]", "either id, or address and protocol_port, not both")
	dr := must[*model.BatchDeleteMembersResponse](t)(del([]model.BatchDeleteMembersOption{{Id: &existing.Id}, {Address: ptr("10.0.0.5"), ProtocolPort: ptr(int32(80))}}))
	if ds := *dr.Members; len(ds) != 2 || ds[0].Id != existing.Id || ds[0].RetStatus != "successful" || ds[1].Id != got[2].Id {
		t.Errorf("batch delete %+v", ds)
	}
	list = must[*model.ListMembersResponse](t)(c.ListMembers(&model.ListMembersRequest{PoolId: p.Id}))
	if len(*list.Members) != 201 {
		t.Errorf("%d members left, want 201", len(*list.Members))
	}
}

// Two clients batch-adding into one pool at once end with exactly the union of their members.
func TestConcurrentBatchAddsEndWithTheUnion(t *testing.T) {
	e := newEnv(t)
	c1, c2 := e.c1(), e.client("AK1", "SK1-secret", "p1")
	lb := e.lb(c1, false)
	p := e.pool(c1, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	want := map[string]bool{}
	batches := func(client int) [][]model.BatchCreateMembersOption {
		var out [][]model.BatchCreateMembersOption
		for b := 0; b < 5; b++ {
			var ms []model.BatchCreateMembersOption
			for i := 0; i < 40; i++ {
				// Both clients also add the shared 127.10.1.200:<b*40+i> members: the union has each once.
				addr := fmt.Sprintf("127.10.1.%d", 10+client)
				if i%4 == 0 {
					addr = "127.10.1.200"
				}
				ms = append(ms, model.BatchCreateMembersOption{Address: addr, ProtocolPort: int32(2000 + b*40 + i), SubnetCidrId: ptr("subnet-a1")})
				want[fmt.Sprintf("%s:%d", addr, 2000+b*40+i)] = true
			}
			out = append(out, ms)
		}
		return out
	}
	all := [][][]model.BatchCreateMembersOption{batches(1), batches(2)}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i, client := range []interface {
		BatchCreateMembers(*model.BatchCreateMembersRequest) (*model.BatchCreateMembersResponse, error)
	}{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ms := range all[i] {
				if _, err := client.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: ms}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	list := must[*model.ListMembersResponse](t)(c1.ListMembers(&model.ListMembersRequest{PoolId: p.Id}))
	var got []string
	for _, m := range *list.Members {
		got = append(got, fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort))
	}
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("pool has %d members, want the union of %d", len(got), len(want))
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("member %s is in the pool twice", got[i])
		}
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected member %s", g)
		}
	}
}
