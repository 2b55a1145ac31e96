package playground

import (
	"fmt"
	"net"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

// VM is a stand-in for a virtual machine behind the ELB: an HTTP server that
// answers every request with its name, as the pods answer with theirs.
type VM struct {
	Name string
	Addr string // address:port it listens on
	srv  *httpserve.Server
}

// StartVM listens on addr (e.g. 127.224.1.11:80) and answers with name.
func StartVM(name, addr string) (*VM, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %w", name, err)
	}
	return &VM{Name: name, Addr: ln.Addr().String(), srv: httpserve.Serve(ln, httpserve.Identity(name))}, nil
}

// Stop closes the listener and open connections.
func (v *VM) Stop() { v.srv.Stop() }
