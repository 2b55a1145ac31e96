package dataplane

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
)

// The kernel data plane (K1): TCP and UDP listeners served by nftables rules
// in elbd's own table of the network namespace elbd runs in. It never touches
// another table; the table is deleted on Close, and a table left by an elbd
// killed with SIGKILL is deleted when the next one starts (K6).
//
// Layout of table inet elbd:
//
//	chain prerouting { type nat hook prerouting priority dstnat }   # clients from other interfaces
//	chain output     { type nat hook output priority dstnat }       # local clients (loopback)
//	    meta nfproto ipv4 meta l4proto tcp ip daddr VIP tcp dport PORT jump l_N   (one per listener)
//	chain l_N { numgen inc mod LEN vmap { 0 : goto m_A, 1 : goto m_B, ... } }    # ROUND_ROBIN
//	chain l_N { jhash ip saddr mod LEN vmap { ... } }                             # SOURCE_IP
//	chain m_A { counter name c_A; ct mark set A; dnat ip to ADDR:PORT }           # one per member
//	chain count { type filter hook postrouting priority filter; ct mark vmap { A : goto k_A, ... } }
//	chain k_A { ct direction original counter name i_A return; counter name o_A }
//	chain snat_out { type nat hook postrouting priority srcnat }   # full NAT (K11)
//	chain snat_in  { type nat hook input priority srcnat }         # same, local members of remote clients
//	    meta nfproto ipv4 snat ip to ct mark map { A : VIP, ... }   # not the members of transparent listeners (K12)
//
// Why the output hook: inside the namespace every client is local (loopback),
// and a locally generated packet never passes prerouting before routing; DNAT
// in nat/output rewrites the destination and the kernel routes the packet
// again, to the member's loopback address. route_localnet is not needed: it
// only matters for packets to 127.0.0.0/8 arriving on a non-loopback
// interface. The source becomes the VIP (full NAT, fullNAT), and conntrack
// undoes both rewrites on the replies. Only the
// first packet of a flow passes a nat chain; conntrack carries the rest, so
// the cost per packet after that is the conntrack lookup alone.
//
// LEN is the length of one smooth weighted round-robin period over the usable
// members' weights (balance.Sequence), so numgen inc gives exactly the weights
// over every LEN connections and jhash spreads source addresses by weight.
// Each member's A is a connection mark that stays the member's for elbd's
// lifetime: the count chain (postrouting, which every packet leaving a local
// socket passes exactly once) adds the flow's packets to the member's byte
// counters by direction, and conntrack flows are flushed by it (K5).
const kernelTable = "elbd"

// kernelListener is one listener as the kernel serves it.
type kernelListener struct {
	vip     netip.AddrPort
	proto   byte // unix.IPPROTO_TCP or IPPROTO_UDP
	hashSrc bool // SOURCE_IP
	// keepClient: DNAT only, the members see the client's address
	// (transparent_client_ip_enable, K12); else full NAT (K11).
	keepClient bool
	members    []kernelMember
}

// kernelMember is a usable member of a kernel listener's pool.
type kernelMember struct {
	mark   uint32
	addr   netip.AddrPort
	weight int
}

// kernelCount is what the kernel counted for one member (by its mark).
type kernelCount struct {
	conns, bytesIn, bytesOut uint64
	active                   int64 // conntrack flows not yet closing
}

// maxKernelSequence bounds a listener's vmap (one element per value); larger
// sums of weights are scaled down, which keeps the shares within 1/65536.
const maxKernelSequence = 1 << 16

// nft is elbd's table in the current network namespace.
type nft struct {
	mu       sync.Mutex
	conn     *nftables.Conn
	table    *nftables.Table
	base     []*nftables.Chain // prerouting, output (nat); count (filter); snat_out, snat_in (nat)
	chains   map[string]*nftables.Chain
	counters map[uint32]bool // marks whose named counters exist
}

// openNFT deletes a stale table of a previous elbd and creates an empty one.
func openNFT() (*nft, error) {
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("netlink to nftables: %w", err)
	}
	k := &nft{conn: conn, chains: map[string]*nftables.Chain{}, counters: map[uint32]bool{}}
	k.table = &nftables.Table{Family: nftables.TableFamilyINet, Name: kernelTable}
	if err := k.deleteTable(); err != nil {
		return nil, err
	}
	conn.AddTable(k.table)
	accept := nftables.ChainPolicyAccept
	for _, c := range []*nftables.Chain{
		{Name: "prerouting", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: "output", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: "count", Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityFilter},
		{Name: "snat_out", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: "snat_in", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityNATSource},
	} {
		c.Table, c.Policy = k.table, &accept
		k.base = append(k.base, conn.AddChain(c))
	}
	if err := conn.Flush(); err != nil {
		return nil, fmt.Errorf("creating nftables table inet %s: %w", kernelTable, err)
	}
	return k, nil
}

// deleteTable removes table inet elbd if it exists (left by a killed elbd).
func (k *nft) deleteTable() error {
	tables, err := k.conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("listing nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == kernelTable {
			k.conn.DelTable(t)
			if err := k.conn.Flush(); err != nil {
				return fmt.Errorf("deleting the stale nftables table inet %s: %w", kernelTable, err)
			}
		}
	}
	return nil
}

// close deletes elbd's table and everything in it.
func (k *nft) close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.deleteTable()
}

func native32(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }

func markName(prefix string, mark uint32) string {
	return prefix + strconv.FormatUint(uint64(mark), 10)
}

// program replaces the rules with ls in one netlink batch, so that packets
// see either the old rule set or the new one, never a mix (K4). Counters of
// the members in keep survive; the others are deleted.
func (k *nft) program(ls []kernelListener, keep map[uint32]bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.conn
	for _, ch := range k.base {
		c.FlushChain(ch)
	}
	for _, ch := range k.chains {
		c.FlushChain(ch)
	}
	want := map[string]*nftables.Chain{}
	chain := func(name string) *nftables.Chain {
		if ch := want[name]; ch != nil {
			return ch
		}
		ch := k.chains[name]
		if ch == nil {
			ch = c.AddChain(&nftables.Chain{Name: name, Table: k.table})
		}
		want[name] = ch
		return ch
	}
	for mark := range keep {
		if !k.counters[mark] {
			for _, p := range []string{"c_", "i_", "o_"} {
				c.AddObj(&nftables.NamedObj{Table: k.table, Name: markName(p, mark), Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
			}
		}
	}
	var countElems []nftables.SetElement
	counted := map[uint32]bool{}
	natted := map[bool][]nftables.SetElement{} // IPv6? → mark : VIP of the flows that get full NAT
	for i, l := range ls {
		if len(l.members) == 0 {
			continue // nothing to DNAT to: the reserved port refuses the client
		}
		lc := chain("l_" + strconv.Itoa(i))
		var elems []nftables.SetElement
		weights := make([]int, len(l.members))
		for j, m := range l.members {
			weights[j] = m.weight
		}
		seq := balance.Sequence(scaleWeights(weights))
		for v, j := range seq {
			m := l.members[j]
			name := markName("m_", m.mark)
			if want[name] == nil {
				k.memberChain(chain(name), m)
			}
			elems = append(elems, nftables.SetElement{Key: native32(uint32(v)), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: name}})
		}
		for _, m := range l.members {
			if counted[m.mark] {
				continue
			}
			counted[m.mark] = true
			if !l.keepClient {
				natted[l.vip.Addr().Is6()] = append(natted[l.vip.Addr().Is6()], nftables.SetElement{Key: native32(m.mark), Val: l.vip.Addr().AsSlice()})
			}
			kc := chain(markName("k_", m.mark))
			k.countChain(kc, m.mark)
			countElems = append(countElems, nftables.SetElement{Key: native32(m.mark), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: kc.Name}})
		}
		var pick []expr.Any
		if l.hashSrc {
			off, n := l.addrField(false)
			pick = []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
				&expr.Hash{SourceRegister: 1, DestRegister: 1, Length: n, Modulus: uint32(len(seq)), Seed: 0x0e1bd, Type: expr.HashTypeJenkins},
			}
		} else {
			pick = []expr.Any{&expr.Numgen{Register: 1, Modulus: uint32(len(seq)), Type: unix.NFT_NG_INCREMENTAL}}
		}
		vmap := &nftables.Set{Table: k.table, Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian}
		if err := c.AddSet(vmap, elems); err != nil {
			return fmt.Errorf("nftables map of listener %s: %w", l.vip, err)
		}
		c.AddRule(&nftables.Rule{Table: k.table, Chain: lc, Exprs: append(pick,
			&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetID: vmap.ID, SetName: vmap.Name})})
		for _, hook := range k.base[:2] {
			c.AddRule(&nftables.Rule{Table: k.table, Chain: hook, Exprs: append(l.match(),
				&expr.Verdict{Kind: expr.VerdictJump, Chain: lc.Name})})
		}
	}
	if len(countElems) > 0 {
		vmap := &nftables.Set{Table: k.table, Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeMark, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian}
		if err := c.AddSet(vmap, countElems); err != nil {
			return fmt.Errorf("nftables map of member counters: %w", err)
		}
		c.AddRule(&nftables.Rule{Table: k.table, Chain: k.base[2], Exprs: []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
			&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetID: vmap.ID, SetName: vmap.Name},
		}})
	}
	for v6, marks := range natted {
		for _, hook := range k.base[3:] {
			if err := k.fullNAT(hook, v6, marks); err != nil {
				return err
			}
		}
	}
	for name, ch := range k.chains {
		if want[name] == nil {
			c.DelChain(ch)
		}
	}
	for mark := range k.counters {
		if !keep[mark] {
			for _, p := range []string{"c_", "i_", "o_"} {
				c.DeleteObject(&nftables.NamedObj{Table: k.table, Name: markName(p, mark), Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
			}
		}
	}
	if err := c.Flush(); err != nil {
		// The batch failed as a whole: the previous rules stay.
		return fmt.Errorf("programming nftables table inet %s: %w", kernelTable, err)
	}
	k.chains = want
	k.counters = map[uint32]bool{}
	for mark := range keep {
		k.counters[mark] = true
	}
	return nil
}

// memberChain counts a new connection, marks it and sends it to the member.
func (k *nft) memberChain(ch *nftables.Chain, m kernelMember) {
	family, addr := uint32(unix.NFPROTO_IPV4), m.addr.Addr().AsSlice()
	if m.addr.Addr().Is6() {
		family = unix.NFPROTO_IPV6
	}
	port := binary.BigEndian.AppendUint16(nil, m.addr.Port())
	k.conn.AddRule(&nftables.Rule{Table: k.table, Chain: ch, Exprs: []expr.Any{
		&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: markName("c_", m.mark)},
		&expr.Immediate{Register: 1, Data: native32(m.mark)},
		&expr.Ct{Register: 1, SourceRegister: true, Key: expr.CtKeyMARK},
		&expr.Immediate{Register: 1, Data: addr},
		&expr.Immediate{Register: 2, Data: port},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: family, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}})
}

// fullNAT makes the member see the VIP as the client's address (K11): the
// flows of the marks in vips (DNATed to a member) get their source rewritten
// to their listener's VIP (ct mark map { A : VIP }), with the client's port
// kept when that is unique, else another one. Without it the member would see the
// client's own address and port, and a client that also connects to the
// member directly could reuse a source port whose direct flow conntrack still
// holds: the DNATed flow's reply tuple would clash with it and its SYNs would
// be dropped until that flow expires. Only the first packet of a flow passes
// a nat chain: postrouting for members reached from this host's sockets and
// forwarded clients, input for packets from other interfaces to a local member.
func (k *nft) fullNAT(hook *nftables.Chain, v6 bool, vips []nftables.SetElement) error {
	family, nfproto, addr := uint32(unix.NFPROTO_IPV4), byte(unix.NFPROTO_IPV4), nftables.TypeIPAddr
	if v6 {
		family, nfproto, addr = unix.NFPROTO_IPV6, unix.NFPROTO_IPV6, nftables.TypeIP6Addr
	}
	m := &nftables.Set{Table: k.table, Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeMark, DataType: addr, KeyByteOrder: binaryutil.NativeEndian}
	if err := k.conn.AddSet(m, vips); err != nil {
		return fmt.Errorf("nftables map of the members' VIPs: %w", err)
	}
	k.conn.AddRule(&nftables.Rule{Table: k.table, Chain: hook, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
		&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetID: m.ID, SetName: m.Name},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: family, RegAddrMin: 1},
	}})
	return nil
}

// countChain adds a marked flow's packets to its member's byte counters.
func (k *nft) countChain(ch *nftables.Chain, mark uint32) {
	k.conn.AddRule(&nftables.Rule{Table: k.table, Chain: ch, Exprs: []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}}, // IP_CT_DIR_ORIGINAL,
		&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: markName("i_", mark)},
		&expr.Verdict{Kind: expr.VerdictReturn},
	}})
	k.conn.AddRule(&nftables.Rule{Table: k.table, Chain: ch, Exprs: []expr.Any{
		&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: markName("o_", mark)},
	}})
}

// addrField is the offset and length of the source or destination address
// in the listener's network header.
func (l kernelListener) addrField(dst bool) (uint32, uint32) {
	if l.vip.Addr().Is6() {
		if dst {
			return 24, 16
		}
		return 8, 16
	}
	if dst {
		return 16, 4
	}
	return 12, 4
}

// match selects the packets to the listener's VIP:port.
func (l kernelListener) match() []expr.Any {
	proto := byte(unix.NFPROTO_IPV4)
	if l.vip.Addr().Is6() {
		proto = unix.NFPROTO_IPV6
	}
	off, n := l.addrField(true)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l.proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: l.vip.Addr().AsSlice()},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, l.vip.Port())},
	}
}

// scaleWeights keeps a period within maxKernelSequence values.
func scaleWeights(w []int) []int {
	total := 0
	for _, x := range w {
		total += x
	}
	if total <= maxKernelSequence {
		return w
	}
	out := make([]int, len(w))
	for i, x := range w {
		out[i] = max(1, x*maxKernelSequence/total/2)
	}
	return out
}

// markBlockMask selects the upper 16 bits of a mark: elbd's marks share them
// with its first mark until 2^16 members have had one (startKernel).
const markBlockMask = 0xffff0000

// counts reads every member's named counters and conntrack flows by mark.
// While every mark is in block (filtered), the kernel dumps only the flows of
// that block, not those of other traffic in the namespace.
func (k *nft) counts(block uint32, filtered bool) (map[uint32]kernelCount, error) {
	k.mu.Lock()
	objs, err := k.conn.GetNamedObjects(k.table)
	k.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("reading nftables counters: %w", err)
	}
	out := map[uint32]kernelCount{}
	for _, o := range objs {
		no, ok := o.(*nftables.NamedObj)
		if !ok || len(no.Name) < 3 {
			continue
		}
		ctr, ok := no.Obj.(*expr.Counter)
		mark, err := strconv.ParseUint(no.Name[2:], 10, 32)
		if !ok || err != nil {
			continue
		}
		kc := out[uint32(mark)]
		switch no.Name[:2] {
		case "c_":
			kc.conns = ctr.Packets
		case "i_":
			kc.bytesIn = ctr.Bytes
		case "o_":
			kc.bytesOut = ctr.Bytes
		}
		out[uint32(mark)] = kc
	}
	flows, err := dumpFlows(block, filtered)
	if err != nil {
		return out, err
	}
	for _, f := range flows {
		if kc, ok := out[f.Mark]; ok && flowActive(f) {
			kc.active++
			out[f.Mark] = kc
		}
	}
	return out, nil
}

// flowActive: a UDP flow, or a TCP connection not yet closing.
func flowActive(f conntrack.Flow) bool {
	if f.TupleOrig.Proto.Protocol != unix.IPPROTO_TCP || f.ProtoInfo.TCP == nil {
		return true
	}
	const tcpEstablished = 3 // nf_conntrack_tcp.h TCP_CONNTRACK_ESTABLISHED
	return f.ProtoInfo.TCP.State <= tcpEstablished
}

// dumpFlows lists the conntrack flows whose mark is in block, or all of them.
func dumpFlows(block uint32, filtered bool) ([]conntrack.Flow, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("netlink to conntrack: %w", err)
	}
	defer c.Close()
	var flows []conntrack.Flow
	if filtered {
		flows, err = c.DumpFilter(conntrack.NewFilter().Mark(block).MarkMask(markBlockMask), nil)
	} else {
		flows, err = c.Dump(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("reading conntrack flows: %w", err)
	}
	return flows, nil
}

// flushFlows deletes the conntrack flows of a member (by its mark): their
// next packet is a new flow, DNATed to a usable member or refused (K5).
func flushFlows(mark uint32) error {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return fmt.Errorf("netlink to conntrack: %w", err)
	}
	defer c.Close()
	if err := c.FlushFilter(conntrack.NewFilter().Mark(mark).MarkMask(^uint32(0))); err != nil {
		return fmt.Errorf("flushing the conntrack flows of mark %d: %w", mark, err)
	}
	return nil
}
