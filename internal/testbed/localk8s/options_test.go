package localk8s

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestOptionsErrorsSayWhatToChange(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"bad name", Options{Name: "A_1", Dir: "/x"}, "lowercase DNS label"},
		{"no dir", Options{Name: "a"}, "Options.Dir"},
		{"too many nodes", Options{Name: "a", Dir: "/x", Nodes: 500}, "use 1 to 100"},
		{"partial ranges", Options{Name: "a", Dir: "/x", NodeCIDR: "127.10.1.0/24"}, "set all of"},
		{"not loopback", Options{Name: "a", Dir: "/x", NodeCIDR: "10.0.0.0/24", PodCIDR: "127.10.64.0/18", ServiceCIDR: "127.10.128.0/20"}, "loopback range"},
		{"not a CIDR", Options{Name: "a", Dir: "/x", NodeCIDR: "127.10.1.1", PodCIDR: "127.10.64.0/18", ServiceCIDR: "127.10.128.0/20"}, "is not a CIDR"},
		{"overlap", Options{Name: "a", Dir: "/x", NodeCIDR: "127.10.64.0/24", PodCIDR: "127.10.64.0/18", ServiceCIDR: "127.10.128.0/20"}, "overlaps"},
		{"nodes do not fit", Options{Name: "a", Dir: "/x", Nodes: 5, NodeCIDR: "127.10.1.0/30", PodCIDR: "127.10.64.0/18", ServiceCIDR: "127.10.128.0/20"}, "room for 2 nodes"},
		{"pod range too small", Options{Name: "a", Dir: "/x", Nodes: 9, PodCIDR: "127.10.64.0/26", NodeCIDR: "127.10.1.0/24", ServiceCIDR: "127.10.128.0/20"}, "too small for 9 nodes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.resolve()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{Name: "a", Dir: "/x"}
	n, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if o.Nodes != 2 {
		t.Errorf("default Nodes = %d, want 2", o.Nodes)
	}
	if n.node.String() != "127.10.1.0/24" || n.pod.String() != "127.10.64.0/18" || n.service.String() != "127.10.128.0/20" {
		t.Errorf("default ranges %v", n)
	}
}

func TestNetworksDoNotOverlap(t *testing.T) {
	var all []netip.Prefix
	for i := 1; i <= 25; i++ {
		a, b, c := Networks(i)
		for _, s := range []string{a, b, c} {
			p := netip.MustParsePrefix(s)
			for _, q := range all {
				if p.Overlaps(q) {
					t.Fatalf("Networks(%d) range %s overlaps %s", i, p, q)
				}
			}
			all = append(all, p)
		}
	}
}

func TestNodeMaskSize(t *testing.T) {
	for _, tc := range []struct {
		pod   string
		nodes int
		want  int
	}{
		{"127.10.64.0/18", 2, 24},
		{"127.10.64.0/18", 100, 25},
		{"127.10.64.0/26", 2, 27},
		{"127.0.0.0/8", 3, 24},
	} {
		got, err := nodeMaskSize(netip.MustParsePrefix(tc.pod), tc.nodes)
		if err != nil || got != tc.want {
			t.Errorf("nodeMaskSize(%s, %d) = %d, %v; want %d", tc.pod, tc.nodes, got, err, tc.want)
		}
	}
}

func TestRangeLocksExcludeEachOther(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p := netip.MustParsePrefix("127.230.1.0/24")
	l1, err := lockRanges("first", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockRanges("second", netip.MustParsePrefix("127.230.64.0/18")); err == nil || !strings.Contains(err.Error(), "first") {
		t.Fatalf("a second lock on 127.230.0.0/16: got %v, want an error naming the holder", err)
	}
	l1.release()
	l2, err := lockRanges("third", p)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}

func TestAutoNetworksSkipBusySlots(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	busy, err := lockRanges("other", netip.MustParsePrefix("127.70.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.release()
	o := Options{Name: "a", Dir: "/x"}
	n, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	l, err := lockNetworks(context.Background(), &o, &n, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if o.NodeCIDR != "127.80.1.0/24" || n.pod.String() != "127.80.64.0/18" {
		t.Errorf("with 127.70/16 busy, got %s / %s; want the next slot, 127.80.*", o.NodeCIDR, n.pod)
	}
}

func TestRetryOnPortClash(t *testing.T) {
	calls, undos := 0, 0
	err := retryOnPortClash(func() error {
		calls++
		if calls < 2 {
			return fmt.Errorf("etcd: %w", errPortClash)
		}
		return nil
	}, func() { undos++ })
	if err != nil || calls != 2 || undos != 1 {
		t.Errorf("one clash then success: err %v, %d calls, %d undos; want nil, 2, 1", err, calls, undos)
	}
	calls, undos = 0, 0
	err = retryOnPortClash(func() error { calls++; return fmt.Errorf("x: %w", errPortClash) }, func() { undos++ })
	if !errors.Is(err, errPortClash) || calls != 3 || undos != 3 {
		t.Errorf("persistent clash: err %v, %d calls, %d undos; want the clash after 3 tries", err, calls, undos)
	}
	boom := errors.New("boom")
	calls = 0
	if err := retryOnPortClash(func() error { calls++; return boom }, func() {}); err != boom || calls != 1 {
		t.Errorf("other errors must not be retried: %v after %d calls", err, calls)
	}
}

func TestExplicitRangesWaitForTheHolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	node, pod, svc := Networks(9)
	o := Options{Name: "a", Dir: "/x", NodeCIDR: node, PodCIDR: pod, ServiceCIDR: svc}
	n, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	holder, err := lockRanges("holder", n.pod)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	// Mark the release before it happens, so a lock taken right after it counts.
	time.AfterFunc(600*time.Millisecond, func() { close(released); holder.release() })
	l, err := lockNetworks(context.Background(), &o, &n, false)
	if err != nil {
		t.Fatalf("waiting for a block to be released: %v", err)
	}
	l.release()
	select {
	case <-released:
	default:
		t.Fatal("got the lock while another holder still had it")
	}

	holder2, err := lockRanges("holder", n.pod)
	if err != nil {
		t.Fatal(err)
	}
	defer holder2.release()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockNetworks(ctx, &o, &n, false); err == nil || !strings.Contains(err.Error(), "holder") {
		t.Fatalf("a block held past the deadline: got %v, want an error naming the holder", err)
	}
}
