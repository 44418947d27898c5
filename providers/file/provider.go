// Package file is the reference VirtRigaud provider: VMs stored as JSON files, served over
// both the VirtRigaud v1 wire protocol and the tutorial's typed API from one domain core.
//
// The pieces: domain (model, state machine, validation), store (durable files and the
// in-memory index), service (the use cases, shared by both APIs), tasks (v1 task registry),
// wirev1 and tutorial (the two API adapters), errmap (domain errors to gRPC codes).
package file

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/providers/file/service"
	"github.com/vctsio/vcts/providers/file/store"
	"github.com/vctsio/vcts/providers/file/tasks"
	"github.com/vctsio/vcts/providers/file/tutorial"
	"github.com/vctsio/vcts/providers/file/wirev1"
)

// DefaultStorageDir is used when Config.StorageDir is empty.
const DefaultStorageDir = "/var/lib/virtrigaud/vms"

// Metric names registered on Config.Registerer. They follow the kit's naming (prefix
// virtrigaud_provider_, label provider="file"), so one query covers every metric of a provider.
const (
	MetricVMs          = "virtrigaud_provider_vms"
	MetricSkippedFiles = "virtrigaud_provider_file_skipped_files_total"
)

// metricLabels are the constant labels of the provider's own metrics (the kit adds the same
// to its RPC metrics).
var metricLabels = prometheus.Labels{"provider": "file"}

// Config configures a file provider.
type Config struct {
	// StorageDir holds one JSON file per VM (PROVIDER_STORAGE_DIR, default /var/lib/virtrigaud/vms).
	StorageDir string
	// TransitionDelay is how long simulated transitions (Creating→Running, Rebooting→Running)
	// take. Zero means immediate.
	TransitionDelay time.Duration
	Logger          *slog.Logger
	// Registerer receives the provider's own metrics (VM count, skipped files); nil means none.
	Registerer prometheus.Registerer
}

// Provider is a running file provider.
type Provider struct {
	store    *store.Store
	svc      *service.Service
	v1       *wirev1.Server
	tutorial *tutorial.Server
	log      *slog.Logger
}

// New opens (or creates) the storage directory, loads the index and returns a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StorageDir == "" {
		cfg.StorageDir = DefaultStorageDir
	}
	if cfg.TransitionDelay < 0 {
		return nil, fmt.Errorf("file provider: transition delay must not be negative, got %s", cfg.TransitionDelay)
	}
	log := cfg.Logger

	skipped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        MetricSkippedFiles,
		ConstLabels: metricLabels,
		Help:        "Files and directories in the storage directory skipped at start-up because they are corrupt or not the provider's, by reason.",
	}, []string{"reason"})
	for _, r := range []string{store.SkipForeign, store.SkipCorrupt, store.SkipOrphan, store.SkipDuplicateName} {
		skipped.WithLabelValues(r)
	}
	st, err := store.Open(store.Options{
		Dir:    cfg.StorageDir,
		Logger: log,
		OnSkip: func(reason string) { skipped.WithLabelValues(reason).Inc() },
	})
	if err != nil {
		return nil, fmt.Errorf("file provider: %w", err)
	}
	p := &Provider{store: st, log: log}
	p.svc = service.New(service.Options{Store: st, TransitionDelay: cfg.TransitionDelay, Logger: log})
	p.v1 = wirev1.New(p.svc, tasks.New(tasks.Options{TTL: tasks.DefaultTTL + cfg.TransitionDelay}), log)
	p.tutorial = tutorial.New(p.svc, log)

	if cfg.Registerer != nil {
		vms := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        MetricVMs,
			ConstLabels: metricLabels,
			Help:        "Number of VMs the provider manages.",
		}, func() float64 { return float64(st.Len()) })
		var registered []prometheus.Collector
		for _, c := range []prometheus.Collector{vms, skipped} {
			if err := cfg.Registerer.Register(c); err != nil {
				for _, r := range registered {
					cfg.Registerer.Unregister(r)
				}
				_ = st.Close()
				return nil, fmt.Errorf("file provider: register metrics: %w", err)
			}
			registered = append(registered, c)
		}
	}
	log.Info("file provider storage loaded", "dir", st.Dir(), "vms", st.Len(), "transitionDelay", cfg.TransitionDelay)
	return p, nil
}

// Register registers both APIs (provider.v1.Provider and virtrigaud.tutorial.v1.ProviderService).
func (p *Provider) Register(s grpc.ServiceRegistrar) {
	providerv1.RegisterProviderServer(s, p.v1)
	tutorialv1.RegisterProviderServiceServer(s, p.tutorial)
}

// Ready reports whether the store can serve requests (the directory is present and writable).
func (p *Provider) Ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.svc.Healthy()
}

// VMCount is the number of VMs the provider manages.
func (p *Provider) VMCount() int { return p.store.Len() }

// StorageDir is the absolute storage directory in use.
func (p *Provider) StorageDir() string { return p.store.Dir() }

// Close releases the provider's resources: the storage directory's lock. Requests that
// write after Close fail with Unavailable.
func (p *Provider) Close() error {
	if p == nil || p.store == nil {
		return nil
	}
	return p.store.Close()
}
