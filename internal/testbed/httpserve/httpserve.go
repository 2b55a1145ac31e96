// Package httpserve runs the test bed's small HTTP servers (the pods' and the VMs' identity
// servers, kube-proxy's health check node ports) until they are stopped.
package httpserve

import (
	"context"
	"net"
	"net/http"
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
