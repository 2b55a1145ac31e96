// Package health implements the elbd health monitors: TCP connect,
// UDP_CONNECT (a probe datagram; an ICMP port-unreachable means down) and
// HTTP (method, URL path, expected status codes), and the rise/fall state
// machine that turns probe results into a member's up/down state.
package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Monitor types, as the ELB API spells them.
const (
	TypeTCP        = "TCP"
	TypeUDPConnect = "UDP_CONNECT"
	TypeHTTP       = "HTTP"
)

// Monitor is a pool's health monitor.
type Monitor struct {
	Type string
	// Delay is the time between two probes of one member.
	Delay time.Duration
	// Timeout bounds one probe.
	Timeout time.Duration
	// MaxRetries is the number of consecutive successes that bring a down
	// member up; MaxRetriesDown the consecutive failures that take it down.
	MaxRetries, MaxRetriesDown int
	// Port, when non-zero, is probed instead of the member's own port.
	Port int
	// HTTP only. Defaults: GET, "/", "200".
	HTTPMethod, URLPath, ExpectedCodes string
}

// Validate says what is wrong with m, in terms of the API's fields.
func (m Monitor) Validate() error {
	switch m.Type {
	case TypeTCP, TypeUDPConnect, TypeHTTP:
	default:
		return fmt.Errorf("health monitor type %q is not supported: use TCP, UDP_CONNECT or HTTP", m.Type)
	}
	if m.Delay <= 0 {
		return fmt.Errorf("health monitor delay must be positive, got %s", m.Delay)
	}
	if m.Timeout <= 0 {
		return fmt.Errorf("health monitor timeout must be positive, got %s", m.Timeout)
	}
	if m.MaxRetries < 1 || m.MaxRetriesDown < 1 {
		return fmt.Errorf("health monitor max_retries (%d) and max_retries_down (%d) must be at least 1", m.MaxRetries, m.MaxRetriesDown)
	}
	if m.Port < 0 || m.Port > 65535 {
		return fmt.Errorf("health monitor monitor_port %d is out of range 1-65535", m.Port)
	}
	if m.Type == TypeHTTP {
		if _, err := ParseExpectedCodes(m.ExpectedCodes); err != nil {
			return err
		}
		if m.URLPath != "" && !strings.HasPrefix(m.URLPath, "/") {
			return fmt.Errorf("health monitor url_path %q must start with /", m.URLPath)
		}
	}
	return nil
}

// Target is the address a monitor probes for a member at addr.
func (m Monitor) Target(addr netip.AddrPort) netip.AddrPort {
	if m.Port != 0 {
		return netip.AddrPortFrom(addr.Addr(), uint16(m.Port))
	}
	return addr
}

// Probe runs one probe of target and returns nil when it passed.
func (m Monitor) Probe(ctx context.Context, target netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	switch m.Type {
	case TypeTCP:
		return probeTCP(ctx, target)
	case TypeUDPConnect:
		return probeUDP(ctx, target)
	case TypeHTTP:
		return m.probeHTTP(ctx, target)
	}
	return fmt.Errorf("unsupported monitor type %q", m.Type)
}

func probeTCP(ctx context.Context, target netip.AddrPort) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	return c.Close()
}

// udpProbePayload is what a UDP_CONNECT probe sends.
var udpProbePayload = []byte("elbd-health-check\n")

// probeUDP sends a datagram on a connected socket. The kernel turns an ICMP
// port-unreachable into ECONNREFUSED on the next read (or write); a reply or
// silence until the timeout both count as up, as on a cloud ELB.
func probeUDP(ctx context.Context, target netip.AddrPort) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", target.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write(udpProbePayload); err != nil {
		return err
	}
	var buf [512]byte
	_, err = c.Read(buf[:])
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("udp port unreachable: %w", err)
	}
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return err
}

func (m Monitor) probeHTTP(ctx context.Context, target netip.AddrPort) error {
	codes, err := ParseExpectedCodes(m.ExpectedCodes)
	if err != nil {
		return err
	}
	method, path := m.HTTPMethod, m.URLPath
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = "/"
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	req, err := http.NewRequest(method, "http://"+target.String()+path, nil)
	if err != nil {
		return fmt.Errorf("health monitor request %s %s: %w", method, path, err)
	}
	req.Header.Set("User-Agent", "elbd-health-check")
	req.Close = true
	if err := req.Write(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if !codes.Contains(resp.StatusCode) {
		return fmt.Errorf("status %d is not in expected_codes %q", resp.StatusCode, m.ExpectedCodes)
	}
	return nil
}

// Codes is a set of HTTP status codes.
type Codes []codeRange

type codeRange struct{ lo, hi int }

// ParseExpectedCodes parses expected_codes: "200", "200-204", "200,202" or a
// mix ("200,300-302"). Empty means 200.
func ParseExpectedCodes(s string) (Codes, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Codes{{200, 200}}, nil
	}
	var cs Codes
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := parseCode(lo)
		b, errB := a, error(nil)
		if isRange {
			b, errB = parseCode(hi)
		}
		if errA != nil || errB != nil || b < a {
			return nil, fmt.Errorf("expected_codes %q: %q is not a status code (100-599) or a range like 200-204", s, part)
		}
		cs = append(cs, codeRange{a, b})
	}
	return cs, nil
}

func parseCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 599 {
		return 0, errors.New("bad code")
	}
	return n, nil
}

// Contains reports whether code is in the set.
func (cs Codes) Contains(code int) bool {
	for _, r := range cs {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}
