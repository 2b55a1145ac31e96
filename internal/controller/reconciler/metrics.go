package reconciler

import (
	"context"
	"errors"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
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
	// reconciles counts Reconcile calls by result; reconcileErrors the failed ones by reason.
	reconciles      *prometheus.CounterVec
	reconcileErrors *prometheus.CounterVec
	// elbRequests and elbDuration are the HTTP exchanges with the ELB API (every retry).
	elbRequests *prometheus.CounterVec
	elbDuration *prometheus.HistogramVec
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
		reconciles: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetlb_reconciles_total",
			Help: "Reconciles of Services, by result: success (refusals included: they wait for the user) or error (retried with backoff).",
		}, []string{"result"})),
		reconcileErrors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetlb_reconcile_errors_total",
			Help: "Reconciles that failed and are retried, by reason: the ELB error's kind (elb_conflict, elb_throttled, elb_server_error, elb_unreachable, ...), kubernetes, or other.",
		}, []string{"reason"})),
		elbRequests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetlb_elb_api_requests_total",
			Help: "HTTP requests to the ELB and VPC APIs (retries included), by operation (method and path without IDs) and HTTP status code.",
		}, []string{"operation", "code"})),
		elbDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fleetlb_elb_api_request_duration_seconds",
			Help:    "Time the ELB and VPC APIs took to answer, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"operation"})),
	}
}

// ObserveELBCall counts one HTTP exchange with the ELB API: elbclient.Config.OnResponse.
func (m *Metrics) ObserveELBCall(operation string, status int, latency time.Duration) {
	if m == nil {
		return
	}
	m.elbRequests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.elbDuration.WithLabelValues(operation).Observe(latency.Seconds())
}

// Reconcile reconciles one Service (reconcile, in reconciler.go) and counts the result.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	res, err := r.reconcile(ctx, req)
	if m := r.Metrics; m != nil {
		if err != nil {
			m.reconciles.WithLabelValues("error").Inc()
			m.reconcileErrors.WithLabelValues(errorReason(err)).Inc()
		} else {
			m.reconciles.WithLabelValues("success").Inc()
		}
	}
	return res, err
}

// errorReason names why a reconcile failed, for fleetlb_reconcile_errors_total.
func errorReason(err error) string {
	for _, k := range []struct {
		kind   error
		reason string
	}{
		{elbclient.ErrNotFound, "elb_not_found"}, {elbclient.ErrConflict, "elb_conflict"},
		{elbclient.ErrUnauthorized, "elb_unauthorized"}, {elbclient.ErrForbidden, "elb_forbidden"},
		{elbclient.ErrBadRequest, "elb_bad_request"}, {elbclient.ErrThrottled, "elb_throttled"},
		{elbclient.ErrServer, "elb_server_error"}, {elbclient.ErrUnreachable, "elb_unreachable"},
	} {
		if errors.Is(err, k.kind) {
			return k.reason
		}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return "kubernetes"
	}
	return "other"
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
