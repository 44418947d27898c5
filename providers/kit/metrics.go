package kit

import (
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names the kit exports; dashboards and tests rely on them, so they are part of the API.
const (
	MetricRequests = "virtrigaud_provider_grpc_requests_total"
	MetricDuration = "virtrigaud_provider_grpc_request_duration_seconds"
	MetricPanics   = "virtrigaud_provider_grpc_panics_total"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	panics   *prometheus.CounterVec
	// known holds the registered methods ("/pkg.Service/Method"), learnt before the server
	// serves; any other method is counted under "unknown", so that a client cannot grow the
	// label sets with names of its own.
	known map[string]bool
}

// labels are the service and method labels of a call.
func (m *metrics) labels(fullMethod string) (service, method string) {
	if m.known != nil && !m.known[fullMethod] {
		return "unknown", "unknown"
	}
	return splitMethod(fullMethod)
}

func newMetrics(reg *prometheus.Registry, provider string) (*metrics, error) {
	constLabels := prometheus.Labels{"provider": provider}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        MetricRequests,
			Help:        "gRPC calls handled, by service, method and status code.",
			ConstLabels: constLabels,
		}, []string{"service", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        MetricDuration,
			Help:        "Time to handle a gRPC call, by service and method.",
			ConstLabels: constLabels,
			Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"service", "method"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        MetricPanics,
			Help:        "gRPC handlers that panicked and were answered with Internal.",
			ConstLabels: constLabels,
		}, []string{"service", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.panics} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// The runtime collectors may already be in a registry the provider passed in.
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, err
		}
	}
	return m, nil
}

// slogPrinter lets promhttp report scrape errors through the server's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics scrape", "error", fmt.Sprint(v...)) }

// zeroPanics creates the panic counter of every method gs serves at 0, so that the series
// exists (and alerts on it work) before the first panic.
func (m *metrics) zeroPanics(gs interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}) {
	m.known = map[string]bool{}
	for service, info := range gs.GetServiceInfo() {
		for _, method := range info.Methods {
			m.known["/"+service+"/"+method.Name] = true
			if !quiet(service) {
				m.panics.WithLabelValues(service, method.Name)
			}
		}
	}
}
