package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is provisiond's set of collectors and the registry they are on.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	cycles         *prometheus.CounterVec
	cycleDuration  *prometheus.HistogramVec
	objects        *prometheus.CounterVec
	targetRequests *prometheus.CounterVec
	targetDuration *prometheus.HistogramVec
	onDemand       *prometheus.HistogramVec
}

// New returns the collectors on a new registry, with Go runtime and process
// metrics beside them. log (nil: slog.Default) hears of failed scrapes.
func New(log *slog.Logger) *Metrics { return NewForNode(log, "") }

// NewForNode is New with every metric labelled node=node (none when node
// is ""), so that the nodes of a cluster tell theirs apart.
func NewForNode(log *slog.Logger, node string) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provisiond_cycles_total",
			Help: "Synchronization cycles ended, by job, kind (initial or incremental) and state (Succeeded, EntryLevelErrors, Failed, or Interrupted by a pause or shutdown).",
		}, []string{"job", "kind", "state"}),
		cycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "provisiond_cycle_duration_seconds",
			Help: "How long synchronization cycles took, by kind.",
			// From an idle incremental cycle to a full one of hours.
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 11),
		}, []string{"kind"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provisiond_objects_total",
			Help: "Objects processed by cycles, by job, status (Success, Skipped, Failure) and action (Create, Update, Delete, Disable, Other).",
		}, []string{"job", "status", "action"}),
		targetRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provisiond_target_requests_total",
			Help: `HTTP requests to jobs' targets, by method and status code ("error": no response).`,
		}, []string{"method", "status"}),
		targetDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "provisiond_target_request_duration_seconds",
			Help:    "How long HTTP requests to jobs' targets took until the response headers (or the failure), by method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
		onDemand: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "provisiond_ondemand_duration_seconds",
			Help: "How long provisionOnDemand calls took, by result (Success, Skipped, Failure; Refused: a request to fix; Error: the service failed).",
			// Up to the 30 s budget of an interactive call.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30},
		}, []string{"result"}),
	}
	var reg prometheus.Registerer = m.reg
	if node != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, m.reg)
	}
	reg.MustRegister(m.cycles, m.cycleDuration, m.objects, m.targetRequests, m.targetDuration, m.onDemand,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Gatherer is the registry, for tests and other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the metrics in Prometheus' exposition format. It does not
// authenticate: Prometheus scrapes without credentials, so operators keep
// the path off public networks. A collector that fails is left out of the
// answer (and logged) rather than failing the whole scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }

// CycleEnded records a cycle of job that ended in state after took.
func (m *Metrics) CycleEnded(job string, initial bool, state string, took time.Duration) {
	if m == nil {
		return
	}
	kind := "incremental"
	if initial {
		kind = "initial"
	}
	m.cycles.WithLabelValues(job, kind, state).Inc()
	m.cycleDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// ObjectProcessed records one object a cycle of job processed, by its
// outcome's status and action.
func (m *Metrics) ObjectProcessed(job, status, action string) {
	if m == nil {
		return
	}
	m.objects.WithLabelValues(job, status, action).Inc()
}

// OnDemandEnded records a provisionOnDemand call that took took.
func (m *Metrics) OnDemandEnded(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.onDemand.WithLabelValues(result).Observe(took.Seconds())
}

// QueueDepth registers provisiond_queue_depth, read by calling depth at
// every scrape (bounded by the scrape's own deadline, at most 5 s). A
// failing depth leaves the gauge out of that scrape.
func (m *Metrics) QueueDepth(depth func(context.Context) (int, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(queueDepth{depth})
}

var queueDepthDesc = prometheus.NewDesc("provisiond_queue_depth",
	"Cycles waiting in the queue: due now and waiting for a worker, scheduled for later, or to be retried.", nil, nil)

// queueDepth is a collector that reads the depth when scraped, so an idle
// process does no work for it.
type queueDepth struct {
	depth func(context.Context) (int, error)
}

func (q queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (q queueDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := q.depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, fmt.Errorf("queue depth: %w", err))
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n))
}
