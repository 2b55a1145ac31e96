// Package membertest runs stand-in ELB members for tests of elbd's data plane: TCP servers that
// answer each connection with their name, and the client that reads which member answered
// through a listener.
package membertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Serve runs a member on addr ("ip:0" for a free port) until the test ends: it answers each
// connection with name and a newline, then closes it. It returns the port, and stop, which
// closes the member earlier (a member that stops answering).
func Serve(t testing.TB, addr, name string) (port int, stop func()) {
	t.Helper()
	return serve(t, addr, func(net.Conn) string { return name })
}

// ServeClientAddress runs a member on addr as Serve does that answers each connection with the
// address it sees the client at (the client's own, or the VIP behind full NAT).
func ServeClientAddress(t testing.TB, addr string) (port int) {
	t.Helper()
	port, _ = serve(t, addr, func(c net.Conn) string {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		return host
	})
	return port
}

// serve runs a member on addr that answers each connection with answer(c) and a newline.
func serve(t testing.TB, addr string, answer func(net.Conn) string) (port int, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, answer(c)+"\n")
			_ = c.Close()
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { _ = ln.Close(); wg.Wait() }) }
	t.Cleanup(stop)
	return ln.Addr().(*net.TCPAddr).Port, stop
}

// Ask connects to addr and returns the name of the member that answered.
func Ask(addr string) (string, error) { return AskFrom(addr, nil) }

// AskFrom is Ask from the local address from (nil: any).
func AskFrom(addr string, from net.IP) (string, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the member's name: %w", err)
	}
	return strings.TrimSpace(line), nil
}
