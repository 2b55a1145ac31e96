package localk8s

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// rangeLock holds flock(2) locks on the 127.X.0.0/16 blocks a cluster uses.
// The kernel drops them when the process ends, so a crashed test never
// leaves a block locked.
type rangeLock struct {
	files []*os.File
}

// lockDir is shared by every process of this user on the machine.
func lockDir() string {
	return filepath.Join(os.TempDir(), "fleetlb-localk8s-ranges")
}

// errRangeBusy means another running cluster holds a block.
var errRangeBusy = errors.New("address block in use")

// lockRanges locks every /16 the prefixes touch, or none.
func lockRanges(owner string, prefixes ...netip.Prefix) (*rangeLock, error) {
	if err := os.MkdirAll(lockDir(), 0o777); err != nil {
		return nil, err
	}
	blocks := map[byte]bool{}
	for _, p := range prefixes {
		first := p.Masked().Addr().As4()
		last := first
		if p.Bits() < 16 {
			last[1] = first[1] | byte(0xff>>(p.Bits()-8))
		}
		for b := int(first[1]); b <= int(last[1]); b++ {
			blocks[byte(b)] = true
		}
	}
	l := &rangeLock{}
	for b := range 256 {
		if !blocks[byte(b)] {
			continue
		}
		path := filepath.Join(lockDir(), "127."+strconv.Itoa(b)+".lock")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			l.release()
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			holder, _ := os.ReadFile(path)
			_ = f.Close()
			l.release()
			return nil, fmt.Errorf("%w: 127.%d.0.0/16 is used by another running cluster (%s)", errRangeBusy, b, strings.TrimSpace(string(holder)))
		}
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d, %s\n", os.Getpid(), owner)), 0)
		l.files = append(l.files, f)
	}
	return l, nil
}

func (l *rangeLock) release() {
	if l == nil {
		return
	}
	for _, f := range l.files {
		_ = f.Close() // closing drops the flock
	}
	l.files = nil
}

// lockNetworks locks the cluster's ranges. With automatic networks it takes
// the first free Networks(i) and updates o and n to it.
func lockNetworks(o *Options, n *networks, auto bool) (*rangeLock, error) {
	owner := "cluster " + o.Name + " in " + o.Dir
	if !auto {
		l, err := lockRanges(owner, n.node, n.pod, n.service)
		if err != nil {
			return nil, fmt.Errorf("localk8s: cluster %s: %w; choose other ranges, or leave NodeCIDR, PodCIDR and ServiceCIDR empty to pick free ones", o.Name, err)
		}
		return l, nil
	}
	for i := 1; i <= 25; i++ {
		node, pod, svc := Networks(i)
		np, pp, sp := netip.MustParsePrefix(node), netip.MustParsePrefix(pod), netip.MustParsePrefix(svc)
		l, err := lockRanges(owner, np, pp, sp)
		if errors.Is(err, errRangeBusy) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("localk8s: cluster %s: lock address range: %w", o.Name, err)
		}
		o.NodeCIDR, o.PodCIDR, o.ServiceCIDR = node, pod, svc
		n.node, n.pod, n.service = np, pp, sp
		return l, nil
	}
	return nil, fmt.Errorf("localk8s: cluster %s: all 25 address slots 127.10.0.0/16 … 127.250.0.0/16 are in use by running clusters", o.Name)
}
