// Command backend is the HTTP server behind the load balancers in
// `make bench-dataplane`: it answers every request with a short body, on
// every address given, with keep-alive as the client asks.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	listen := flag.String("listen", "127.60.1.1:8080", "comma-separated host:port list to serve")
	flag.Parse()
	body := []byte("hello from the fleetlb bench backend\n")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	})
	for _, addr := range strings.Split(*listen, ",") {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatalf("backend: %v", err)
		}
		go func() { log.Print(http.Serve(ln, handler)) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
}
