package playground

import (
	"fmt"
	"net"
	"strings"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
)

// startChild starts a program the playground runs (elbd, a controller), its
// log readable by the user only.
func startChild(name, bin string, args, env []string, logPath string) (*childproc.Process, error) {
	return childproc.Start(name, bin, args, env, logPath, 0o600)
}

// portClash reports whether the child ended because a port it was given was
// taken meanwhile.
func portClash(c *childproc.Process) bool {
	return c.Exited() && strings.Contains(c.LogTail(20), "address already in use")
}

// freePort finds a free TCP port on 127.0.0.1. It is released before use, so
// another program could take it in between; the child then fails with a
// clear "address in use" in its log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
