// Command lb serves data plane listeners given on the command line, with no
// API or store: it measures and profiles the data plane alone.
//
//	lb -listener 127.60.0.1:8080=127.60.1.1:8080*80,127.60.1.2:8080*20 [-listener ...] [-pprof 127.0.0.1:6060]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
)

type listenerFlags []dataplane.Listener

func (l *listenerFlags) String() string { return fmt.Sprint(len(*l)) }

// Set parses VIP:PORT=MEMBER:PORT*WEIGHT,... (weight defaults to 1); a
// "udp:" prefix makes a UDP listener.
func (l *listenerFlags) Set(s string) error {
	proto := dataplane.ProtocolTCP
	if rest, ok := strings.CutPrefix(s, "udp:"); ok {
		proto, s = dataplane.ProtocolUDP, rest
	}
	front, back, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: want VIP:PORT=MEMBER:PORT*WEIGHT[,MEMBER:PORT*WEIGHT]", s)
	}
	vip, port, err := hostPort(front)
	if err != nil {
		return err
	}
	n := len(*l)
	pool := &dataplane.Pool{ID: fmt.Sprintf("pool-%d", n), Algorithm: "ROUND_ROBIN"}
	for i, m := range strings.Split(back, ",") {
		addr, w, hasW := strings.Cut(m, "*")
		weight := 1
		if hasW {
			if weight, err = strconv.Atoi(w); err != nil {
				return fmt.Errorf("member %q: weight %q is not a number", m, w)
			}
		}
		host, mport, err := hostPort(addr)
		if err != nil {
			return err
		}
		pool.Members = append(pool.Members, dataplane.Member{ID: fmt.Sprintf("m%d-%d", n, i), Address: host, Port: mport, Weight: weight, AdminUp: true})
	}
	*l = append(*l, dataplane.Listener{ID: fmt.Sprintf("l%d", n), VIP: vip, Port: port, Protocol: proto, Pool: pool})
	return nil
}

func hostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%q: port %q is not a number", s, p)
	}
	return h, port, nil
}

func main() {
	var listeners listenerFlags
	flag.Var(&listeners, "listener", "VIP:PORT=MEMBER:PORT*WEIGHT,... (repeatable; prefix udp: for UDP)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	loops := flag.Int("loops", 0, "TCP event loops (default: GOMAXPROCS)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	dp := dataplane.New(dataplane.Options{Logger: log, AcceptLoops: *loops})
	if err := dp.Apply(dataplane.Config{Listeners: listeners}); err != nil {
		log.Error("apply", "err", err)
		os.Exit(1)
	}
	if *pprofAddr != "" {
		go func() { log.Error("pprof", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	_ = dp.Close()
}
