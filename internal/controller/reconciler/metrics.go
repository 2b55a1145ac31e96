package reconciler

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/weights"
)

// Metrics are the controller's own Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	requested *prometheus.GaugeVec
	effective *prometheus.GaugeVec
	distorted *prometheus.GaugeVec
	members   *prometheus.GaugeVec
	refusals  *prometheus.CounterVec
	writes    prometheus.Counter
	errors    prometheus.Counter
}

var shareLabels = []string{"namespace", "service", "protocol", "port"}

// NewMetrics creates the metrics and registers them with reg (controller-runtime's
// metrics.Registry in the program, a fresh registry in tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	shareGauge := func(name, help string) *prometheus.GaugeVec {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, shareLabels))
	}
	counter := func(name, help string) prometheus.Counter {
		return register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
	}
	return &Metrics{
		requested: shareGauge("fleetlb_weight_requested",
			"Cluster weight W requested for a Service port (annotation, last applied, or default)."),
		effective: shareGauge("fleetlb_weight_effective_sum",
			"Sum of this cluster's member weights for a Service port after the integer ceilings of R2/R3."),
		distorted: shareGauge("fleetlb_weight_share_distorted",
			"1 when the effective weight sum differs from the requested weight, else 0."),
		members: shareGauge("fleetlb_members",
			"Members this cluster wants in the pool of a Service port."),
		refusals: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetlb_refusals_total",
			Help: "Reconciles refused with a Warning Event (the user must change something), by reason.",
		}, []string{"reason"})),
		writes: counter("fleetlb_elb_writes_total", "Write calls made to ELBs."),
		errors: counter("fleetlb_elb_apply_errors_total", "Applies that failed with an ELB error and were retried."),
	}
}

// register registers c, or returns the collector already registered under its name (a second
// controller in the same process shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func (m *Metrics) observeShare(ns, name string, l model.Listener, s weights.Share) {
	if m == nil {
		return
	}
	lv := []string{ns, name, l.Protocol, strconv.Itoa(int(l.Port))}
	m.requested.WithLabelValues(lv...).Set(float64(s.Requested))
	m.effective.WithLabelValues(lv...).Set(float64(s.Effective))
	m.members.WithLabelValues(lv...).Set(float64(len(l.Members)))
	d := 0.0
	if s.Distorted {
		d = 1
	}
	m.distorted.WithLabelValues(lv...).Set(d)
}

func (m *Metrics) observeRefusal(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) observeWrites(n int) {
	if m != nil && n > 0 {
		m.writes.Add(float64(n))
	}
}

func (m *Metrics) observeError() {
	if m != nil {
		m.errors.Inc()
	}
}

// forget drops the per-Service series of a Service that is gone or unbound.
func (m *Metrics) forget(ns, name string) {
	if m == nil {
		return
	}
	match := prometheus.Labels{"namespace": ns, "service": name}
	for _, v := range []*prometheus.GaugeVec{m.requested, m.effective, m.distorted, m.members} {
		v.DeletePartialMatch(match)
	}
}
