package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions. Counters are read at scrape time from the data plane's
// atomics, so the hot path never touches a Prometheus object.
var (
	descListener = func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("elbd_listener_"+name, help, []string{"listener", "protocol", "address"}, nil)
	}
	descMember = func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("elbd_member_"+name, help, []string{"pool", "member", "address"}, nil)
	}
	lCounters = counterDescs{
		active: descListener("connections_active", "Open TCP connections or live UDP flows of the listener."),
		total:  descListener("connections_total", "TCP connections or UDP flows forwarded by the listener."),
		in:     descListener("bytes_in_total", "Bytes received from clients of the listener and sent to members."),
		out:    descListener("bytes_out_total", "Bytes received from members and sent to clients of the listener."),
		failed: descListener("failed_connects_total", "Connects to members that failed for the listener's clients."),
	}
	lUp       = descListener("up", "1 when the listener serves its VIP:port, 0 when it cannot be bound.")
	lKernel   = descListener("kernel", "1 when the listener is served by nftables rules (--dataplane kernel), 0 by the proxy.")
	mCounters = counterDescs{
		active: descMember("connections_active", "Open TCP connections or live UDP flows to the member."),
		total:  descMember("connections_total", "TCP connections or UDP flows forwarded to the member."),
		in:     descMember("bytes_in_total", "Bytes sent to the member (from clients)."),
		out:    descMember("bytes_out_total", "Bytes received from the member (for clients)."),
		failed: descMember("failed_connects_total", "Connects to the member that failed."),
	}
	mUp               = descMember("up", "1 when the member can get new connections (admin-up, weight > 0, healthy or unmonitored).")
	mWeight           = descMember("weight", "Configured weight of the member.")
	udpMax            = prometheus.NewDesc("elbd_udp_flows_max", "Cap on live UDP flows of all listeners (Options.MaxUDPFlows).", nil, nil)
	udpCapped         = prometheus.NewDesc("elbd_udp_flows_capped_total", "Datagrams from new UDP clients dropped because live flows were at elbd_udp_flows_max.", nil, nil)
	healthTransitions = prometheus.NewDesc("elbd_member_health_transitions_total",
		"Health check verdicts that changed a member's health, by the state it changed to (up, down).", []string{"to"}, nil)
	allDescs  = append(append(lCounters.all(), mCounters.all()...), lUp, lKernel, mUp, mWeight, udpMax, udpCapped, healthTransitions)
	gauge     = prometheus.GaugeValue
	counterVT = prometheus.CounterValue
)

// counterDescs describe the traffic counters of a listener or a member (Counters).
type counterDescs struct{ active, total, in, out, failed *prometheus.Desc }

func (d counterDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.active, d.total, d.in, d.out, d.failed}
}

// collect sends s as metrics with these labels.
func (d counterDescs) collect(ch chan<- prometheus.Metric, s Counters, labels []string) {
	ch <- prometheus.MustNewConstMetric(d.active, gauge, float64(s.ActiveConnections), labels...)
	ch <- prometheus.MustNewConstMetric(d.total, counterVT, float64(s.TotalConnections), labels...)
	ch <- prometheus.MustNewConstMetric(d.in, counterVT, float64(s.BytesIn), labels...)
	ch <- prometheus.MustNewConstMetric(d.out, counterVT, float64(s.BytesOut), labels...)
	ch <- prometheus.MustNewConstMetric(d.failed, counterVT, float64(s.FailedConnects), labels...)
}

// Collector returns a Prometheus collector of the data plane's counters.
func (dp *DataPlane) Collector() prometheus.Collector { return collector{dp} }

type collector struct{ dp *DataPlane }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	dp := c.dp
	ch <- prometheus.MustNewConstMetric(udpMax, gauge, float64(dp.opts.MaxUDPFlows))
	ch <- prometheus.MustNewConstMetric(udpCapped, counterVT, float64(dp.udpFlows.dropped.Load()))
	ch <- prometheus.MustNewConstMetric(healthTransitions, counterVT, float64(dp.healthTransitions[0].Load()), "down")
	ch <- prometheus.MustNewConstMetric(healthTransitions, counterVT, float64(dp.healthTransitions[1].Load()), "up")
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.readKernelCounters()
	for _, l := range dp.listeners {
		labels := []string{l.id, l.protocol, l.addr.String()}
		s := l.stats.snapshot()
		up := 1.0
		if l.bindErr != nil {
			up = 0
		}
		lCounters.collect(ch, s, labels)
		ch <- prometheus.MustNewConstMetric(lUp, gauge, up, labels...)
		kernel := 0.0
		if l.kernel {
			kernel = 1
		}
		ch <- prometheus.MustNewConstMetric(lKernel, gauge, kernel, labels...)
	}
	for _, p := range dp.pools {
		for _, b := range p.backends {
			labels := []string{p.id, b.id, b.addr.String()}
			s := b.stats.snapshot()
			up := 0.0
			if b.usable() {
				up = 1
			}
			mCounters.collect(ch, s, labels)
			ch <- prometheus.MustNewConstMetric(mUp, gauge, up, labels...)
			ch <- prometheus.MustNewConstMetric(mWeight, gauge, float64(b.weight), labels...)
		}
	}
}
