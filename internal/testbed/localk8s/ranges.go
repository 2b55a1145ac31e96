package localk8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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

// RangeWait bounds how long Start waits for address blocks that another
// running cluster holds (tests of several packages run at once).
const RangeWait = 5 * time.Minute

// autoSlots is the order in which empty CIDRs take Networks(i): first the
// blocks no hand-written test or tool in this repository uses.
var autoSlots = []int{7, 8, 9, 10, 11, 12, 17, 18, 19, 4, 5, 6, 3, 2, 1, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25}

// lockNetworks locks the cluster's ranges, waiting up to RangeWait (or
// ctx) while another cluster holds them. With automatic networks it takes
// the first free Networks(i) and updates o and n to it.
func lockNetworks(ctx context.Context, o *Options, n *networks, auto bool) (*rangeLock, error) {
	owner := "cluster " + o.Name + " in " + o.Dir
	try := func() (*rangeLock, error) {
		if !auto {
			return lockRanges(owner, n.node, n.pod, n.service)
		}
		var busy error
		for _, i := range autoSlots {
			node, pod, svc := Networks(i)
			np, pp, sp := netip.MustParsePrefix(node), netip.MustParsePrefix(pod), netip.MustParsePrefix(svc)
			l, err := lockRanges(owner, np, pp, sp)
			if errors.Is(err, errRangeBusy) {
				busy = err
				continue
			}
			if err != nil {
				return nil, err
			}
			o.NodeCIDR, o.PodCIDR, o.ServiceCIDR = node, pod, svc
			n.node, n.pod, n.service = np, pp, sp
			return l, nil
		}
		return nil, fmt.Errorf("all %d address slots are in use by running clusters (last: %w)", len(autoSlots), busy)
	}

	waitCtx, cancel := context.WithTimeout(ctx, RangeWait)
	defer cancel()
	started := time.Now()
	lastLog := started
	for {
		l, err := try()
		if err == nil {
			if waited := time.Since(started); waited > time.Second {
				slog.Info("localk8s: address block free; starting", "cluster", o.Name, "waited", waited.Round(time.Second))
			}
			return l, nil
		}
		if !errors.Is(err, errRangeBusy) {
			return nil, fmt.Errorf("localk8s: cluster %s: lock address range: %w", o.Name, err)
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			slog.Info("localk8s: waiting for an address block held by another cluster", "cluster", o.Name,
				"waited", time.Since(started).Round(time.Second), "limit", RangeWait, "reason", err.Error())
		}
		select {
		case <-waitCtx.Done():
			hint := "choose other ranges, or leave NodeCIDR, PodCIDR and ServiceCIDR empty to pick free ones"
			if auto {
				hint = "stop some running clusters"
			}
			return nil, fmt.Errorf("localk8s: cluster %s: waited %s: %w; %s", o.Name, time.Since(started).Round(time.Second), err, hint)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
