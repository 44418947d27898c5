package target

import (
	"fmt"
	"log/slog"

	"github.com/vctsio/vcts/harness/config"
)

// FromConfig builds the target a finalized configuration describes.
func FromConfig(f config.File, log *slog.Logger) (Target, error) {
	timeout := f.Target.StartTimeout.D()
	switch f.Target.Kind {
	case config.TargetProcess:
		return &Process{Bin: f.Target.ProviderBin, StartTimeout: timeout, KeepStorage: !f.Tests.CleanupOn(), Log: log}, nil
	case config.TargetEndpoint:
		e := NewEndpoint(f.Provider.Endpoint, f.Provider.TLS)
		e.StartTimeout = timeout
		return e, nil
	case config.TargetContainer:
		return &Container{Image: f.Target.Image, Port: f.Target.Port, StartTimeout: timeout, Log: log}, nil
	}
	return nil, &config.Error{Key: "target.kind", Err: fmt.Errorf("unknown target %q", f.Target.Kind)}
}
