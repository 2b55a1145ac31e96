// Package nodeproxy is a kube-proxy stand-in for test clusters on one machine.
//
// A Proxy serves one simulated node: for every NodePort or LoadBalancer
// Service it listens on nodeIP:nodePort and forwards TCP connections and UDP
// datagrams to the Service's ready endpoints (round robin; with
// externalTrafficPolicy: Local only to endpoints on this node). For
// LoadBalancer Services with externalTrafficPolicy: Local it also serves the
// healthCheckNodePort like kube-proxy: 200 with local endpoints, else 503.
package nodeproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

// resyncPeriod also retries listeners that failed to bind.
const resyncPeriod = 5 * time.Second

// Config describes the node a Proxy serves.
type Config struct {
	NodeName string
	NodeIP   netip.Addr
	Client   kubernetes.Interface
	Logger   *slog.Logger
}

// Proxy forwards one node's node ports. Create it with New and call Run.
type Proxy struct {
	cfg Config
	log *slog.Logger

	current atomic.Pointer[table]

	mu        sync.Mutex
	listeners map[listenKey]portListener
	health    map[int32]*httpserve.Server
}

// portListener is a running node port (TCP or UDP).
type portListener interface {
	close()
}

// New checks cfg and returns a proxy ready to Run.
func New(cfg Config) (*Proxy, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("nodeproxy: Config.Client is required")
	case cfg.NodeName == "":
		return nil, errors.New("nodeproxy: Config.NodeName is required")
	case !cfg.NodeIP.IsValid():
		return nil, fmt.Errorf("nodeproxy: node %s: Config.NodeIP is required", cfg.NodeName)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		cfg:       cfg,
		log:       log.With("node", cfg.NodeName, "component", "nodeproxy"),
		listeners: map[listenKey]portListener{},
		health:    map[int32]*httpserve.Server{},
	}
	p.current.Store(&table{})
	return p, nil
}

// Run serves the node ports until ctx is cancelled, then closes every
// listener and connection before returning.
func (p *Proxy) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(p.cfg.Client, 0)
	svcInformer := factory.Core().V1().Services()
	sliceInformer := factory.Discovery().V1().EndpointSlices()
	changed := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, o any) { notify(o) },
		DeleteFunc: notify,
	}
	for _, inf := range []cache.SharedIndexInformer{svcInformer.Informer(), sliceInformer.Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("nodeproxy: watch: %w", err)
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer p.closeAll()
	if !cache.WaitForCacheSync(ctx.Done(), svcInformer.Informer().HasSynced, sliceInformer.Informer().HasSynced) {
		return nil
	}
	svcLister, sliceLister := svcInformer.Lister(), sliceInformer.Lister()

	tick := time.NewTicker(resyncPeriod)
	defer tick.Stop()
	for {
		p.sync(svcLister, sliceLister)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

func (p *Proxy) sync(svcLister corelisters.ServiceLister, sliceLister discoverylisters.EndpointSliceLister) {
	services, err := svcLister.List(labels.Everything())
	if err != nil {
		return
	}
	slices, err := sliceLister.List(labels.Everything())
	if err != nil {
		return
	}
	t := buildTable(p.cfg.NodeName, services, slices)
	p.current.Store(t)

	p.mu.Lock()
	defer p.mu.Unlock()
	for key, l := range p.listeners {
		if _, ok := t.frontends[key]; !ok {
			l.close()
			delete(p.listeners, key)
			p.log.Info("node port closed", "protocol", key.Protocol, "port", key.Port)
		}
	}
	for key, fe := range t.frontends {
		if _, ok := p.listeners[key]; ok {
			continue
		}
		l, err := p.listen(key)
		if err != nil {
			p.log.Error("node port listen failed; will retry", "service", fe.Service, "err", err)
			continue
		}
		p.listeners[key] = l
		p.log.Info("node port open", "service", fe.Service, "protocol", key.Protocol, "port", key.Port)
	}
	for port, hs := range p.health {
		if _, ok := t.health[port]; !ok {
			hs.Stop()
			delete(p.health, port)
		}
	}
	for port := range t.health {
		if _, ok := p.health[port]; ok {
			continue
		}
		hs, err := p.serveHealth(port)
		if err != nil {
			p.log.Error("health check node port listen failed; will retry", "port", port, "err", err)
			continue
		}
		p.health[port] = hs
	}
}

func (p *Proxy) listen(key listenKey) (portListener, error) {
	addr := netip.AddrPortFrom(p.cfg.NodeIP, uint16(key.Port))
	if key.Protocol == "UDP" {
		return p.listenUDP(key, addr)
	}
	return p.listenTCP(key, addr)
}

// backends returns the current backends of a node port.
func (p *Proxy) backends(key listenKey) []netip.AddrPort {
	return p.current.Load().frontends[key].Backends
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.listeners {
		l.close()
		delete(p.listeners, k)
	}
	for k, hs := range p.health {
		hs.Stop()
		delete(p.health, k)
	}
}

// picker chooses backends round robin.
type picker struct{ n atomic.Uint64 }

func (r *picker) pick(b []netip.AddrPort) (netip.AddrPort, bool) {
	if len(b) == 0 {
		return netip.AddrPort{}, false
	}
	return b[(r.n.Add(1)-1)%uint64(len(b))], true
}
