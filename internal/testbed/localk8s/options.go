package localk8s

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
)

// Options describe one cluster.
type Options struct {
	// Name is the cluster's name: a DNS label such as "a". It prefixes the
	// node names (a-node-1) and every pod's identity (a/a-node-1/pod).
	Name string
	// Dir holds the cluster's state: etcd data, certificates, kubeconfigs
	// and component logs (Dir/logs). Required; created if missing. Start
	// clears Dir/etcd: every start is a new, empty cluster.
	Dir string
	// Nodes is the number of simulated nodes; default 2.
	Nodes int
	// NoServiceProxy leaves out the node proxies: Services' cluster IPs and node ports are not
	// served. For a cluster whose Services nobody connects to (make bench-controller), where a
	// proxy rebuilding its tables on every Service and EndpointSlice change only costs CPU.
	NoServiceProxy bool
	// NodeCIDR, PodCIDR and ServiceCIDR are loopback (127.0.0.0/8) IPv4
	// ranges for node InternalIPs, pod IPs (split per node by the node IPAM
	// controller) and Service cluster IPs. They must not overlap each other.
	// Leave all three empty to get a Networks(i) no other running cluster
	// on this machine uses (what tests should do), or set all three.
	// Each 127.X.0.0/16 they touch is locked for the cluster's lifetime,
	// across processes, so two clusters never share addresses; Start waits
	// up to RangeWait for a block another cluster holds.
	NodeCIDR    string
	PodCIDR     string
	ServiceCIDR string
	// BinDir holds kube-apiserver, kube-controller-manager, kube-scheduler
	// and etcd. Default: FindBinDir().
	BinDir string
	// Logger receives the node agents' and proxies' logs. Default: a text
	// log in Dir/logs/nodes.log.
	Logger *slog.Logger
}

// Networks returns non-overlapping default ranges for the i-th cluster
// (1 ≤ i ≤ 25): nodes 127.<10i>.1.0/24, pods 127.<10i>.64.0/18, services
// 127.<10i>.128.0/20. Cluster 1 is 127.10.*, cluster 2 is 127.20.*.
func Networks(i int) (nodeCIDR, podCIDR, serviceCIDR string) {
	o := 10 * i
	return fmt.Sprintf("127.%d.1.0/24", o), fmt.Sprintf("127.%d.64.0/18", o), fmt.Sprintf("127.%d.128.0/20", o)
}

// networks are an Options' parsed ranges.
type networks struct {
	node, pod, service netip.Prefix
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)

// resolve fills in defaults and checks every field, saying what to change.
func (o *Options) resolve() (networks, error) {
	var n networks
	if !dnsLabel.MatchString(o.Name) {
		return n, fmt.Errorf("localk8s: cluster name %q must be a lowercase DNS label of at most 32 characters (e.g. \"a\")", o.Name)
	}
	if o.Dir == "" {
		return n, fmt.Errorf("localk8s: cluster %s: Options.Dir (the state directory) is required", o.Name)
	}
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	if o.Nodes < 0 || o.Nodes > 100 {
		return n, fmt.Errorf("localk8s: cluster %s: Nodes is %d; use 1 to 100", o.Name, o.Nodes)
	}
	if o.autoNetworks() {
		// Placeholders to validate the rest; Start picks a free slot.
		o.NodeCIDR, o.PodCIDR, o.ServiceCIDR = Networks(1)
	}
	if o.NodeCIDR == "" || o.PodCIDR == "" || o.ServiceCIDR == "" {
		return n, fmt.Errorf("localk8s: cluster %s: set all of NodeCIDR, PodCIDR and ServiceCIDR, or none to pick free ranges", o.Name)
	}
	var err error
	parse := func(field, s string, maxBits int) netip.Prefix {
		if err != nil {
			return netip.Prefix{}
		}
		p, perr := netip.ParsePrefix(s)
		switch {
		case perr != nil:
			err = fmt.Errorf("localk8s: cluster %s: %s %q is not a CIDR (e.g. 127.10.1.0/24): %v", o.Name, field, s, perr)
		case !p.Addr().Is4() || !loopback.Contains(p.Addr()) || p.Bits() < 8:
			err = fmt.Errorf("localk8s: cluster %s: %s %s must be an IPv4 range inside the loopback range 127.0.0.0/8", o.Name, field, s)
		case p.Bits() > maxBits:
			err = fmt.Errorf("localk8s: cluster %s: %s %s is too small; use /%d or larger", o.Name, field, s, maxBits)
		}
		return p.Masked()
	}
	n.node = parse("NodeCIDR", o.NodeCIDR, 30)
	n.pod = parse("PodCIDR", o.PodCIDR, 26)
	n.service = parse("ServiceCIDR", o.ServiceCIDR, 28)
	if err != nil {
		return n, err
	}
	if hosts := 1<<(32-n.node.Bits()) - 2; o.Nodes > hosts {
		return n, fmt.Errorf("localk8s: cluster %s: NodeCIDR %s has room for %d nodes, not %d", o.Name, n.node, hosts, o.Nodes)
	}
	if _, err := nodeMaskSize(n.pod, o.Nodes); err != nil {
		return n, fmt.Errorf("localk8s: cluster %s: %w", o.Name, err)
	}
	named := []struct {
		name string
		p    netip.Prefix
	}{{"NodeCIDR", n.node}, {"PodCIDR", n.pod}, {"ServiceCIDR", n.service}}
	for i := range named {
		for j := i + 1; j < len(named); j++ {
			if named[i].p.Overlaps(named[j].p) {
				return n, fmt.Errorf("localk8s: cluster %s: %s %s overlaps %s %s; give each its own range",
					o.Name, named[i].name, named[i].p, named[j].name, named[j].p)
			}
		}
	}
	return n, nil
}

var loopback = netip.MustParsePrefix("127.0.0.0/8")

func (o *Options) autoNetworks() bool {
	return o.NodeCIDR == "" && o.PodCIDR == "" && o.ServiceCIDR == ""
}

// nodeMaskSize is the per-node pod CIDR size for node IPAM: /24 where the
// pod range allows, smaller otherwise, always with room for every node.
func nodeMaskSize(pod netip.Prefix, nodes int) (int, error) {
	bitsForNodes := 0
	for 1<<bitsForNodes < nodes {
		bitsForNodes++
	}
	mask := max(24, pod.Bits()+bitsForNodes)
	// node IPAM also refuses more than 16 bits between the two masks
	mask = min(mask, pod.Bits()+16)
	if mask > 29 || 1<<(mask-pod.Bits()) < nodes {
		return 0, fmt.Errorf("PodCIDR %s is too small for %d nodes with at least 8 pod addresses each", pod, nodes)
	}
	return mask, nil
}

// ErrNoBinaries is wrapped by Start and FindBinDir when the Kubernetes
// binaries are not built.
var ErrNoBinaries = errors.New("kubernetes binaries not found")
