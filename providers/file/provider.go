// Package file is the reference VirtRigaud provider: VMs stored as JSON files, served over
// both the VirtRigaud v1 wire protocol and the tutorial's typed API from one domain core.
package file

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

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
	// filled by the implementation
}

// New opens (or creates) the storage directory, loads the index and returns a provider.
func New(cfg Config) (*Provider, error) { panic("not implemented yet") }

// Register registers both APIs (provider.v1.Provider and virtrigaud.tutorial.v1.ProviderService).
func (p *Provider) Register(s grpc.ServiceRegistrar) { panic("not implemented yet") }

// Ready reports whether the store can serve requests (the directory is present and writable).
func (p *Provider) Ready(ctx context.Context) error { panic("not implemented yet") }

// Close releases the provider's resources.
func (p *Provider) Close() error { return nil }
