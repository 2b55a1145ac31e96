package playground

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// VM is a stand-in for a virtual machine behind the ELB: an HTTP server that
// answers every request with its name, as the pods answer with theirs.
type VM struct {
	Name string
	Addr string // address:port it listens on
	srv  *http.Server
	done chan struct{}
}

// StartVM listens on addr (e.g. 127.224.1.11:80) and answers with name.
func StartVM(name, addr string) (*VM, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %w", name, err)
	}
	v := &VM{Name: name, Addr: ln.Addr().String(), done: make(chan struct{})}
	v.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(name))
	})}
	go func() { defer close(v.done); _ = v.srv.Serve(ln) }()
	return v, nil
}

// Stop closes the listener and open connections.
func (v *VM) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := v.srv.Shutdown(ctx); err != nil {
		_ = v.srv.Close()
	}
	<-v.done
}
