// Package httpserve runs the test bed's small HTTP servers (the pods' and the VMs' identity
// servers, kube-proxy's health check node ports) until they are stopped, and asks an identity
// server who it is.
package httpserve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Server is h served on one listener.
type Server struct {
	srv  *http.Server
	done chan struct{}
}

// Serve serves h on ln until Stop.
func Serve(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns when Stop closes the server
	}()
	return s
}

// Stop closes the listener, lets requests in progress finish for up to a second, then closes
// every connection, and waits until the server has ended.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// Identity answers every request with identity, as plain text: how the test bed's pods and VMs
// tell traffic tests who served them.
func Identity(identity string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(identity))
	})
}

// asker opens a new connection per request, as many independent users would: each may reach
// another backend.
var asker = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	DisableKeepAlives: true,
	DialContext:       (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
}}

// Ask sends GET / to the identity server at addr (host:port, or a load balancer in front of
// several) and returns the identity that answered.
func Ask(ctx context.Context, addr string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := asker.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %.80s", resp.StatusCode, body)
	}
	return strings.TrimSpace(string(body)), nil
}
