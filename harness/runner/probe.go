package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/target"
	"github.com/vctsio/vcts/steps/driver"
)

// Applicability says whether one requirement applies to a provider, and why not.
type Applicability struct {
	Requirement features.Requirement
	Applies     bool
	Reason      string
}

// Probe is what `vcts list` learns from a provider without running the suite.
type Probe struct {
	Target       target.Info
	Endpoint     string
	Capabilities driver.Capabilities
	// CapabilitiesError is set when GetCapabilities failed.
	CapabilitiesError string
	Requirements      []Applicability
}

// ProbeProvider starts the target the options describe, asks GetCapabilities on the wire
// and decides, requirement by requirement, whether it applies: its profile must be
// selected, enabled and offered, and the dialect must express everything it needs.
func ProbeProvider(ctx context.Context, o Options) (*Probe, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reqs, err := features.Requirements()
	if err != nil {
		return nil, err
	}
	profiles := o.Profiles
	if len(profiles) == 0 {
		profiles = slices.Clone(config.AllProfiles)
	}
	p := &Probe{}
	conn := o.Conn
	if conn == nil {
		t := o.Target
		if t == nil {
			if t, err = target.FromConfig(o.Config, log); err != nil {
				return nil, err
			}
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
			defer cancel()
			_ = t.Stop(sctx)
		}()
		if err := t.Start(ctx); err != nil {
			return nil, fmt.Errorf("%s target: %w", o.Config.Target.Kind, err)
		}
		p.Target, p.Endpoint = t.Info(), t.Endpoint()
		cc, err := grpc.NewClient(t.Endpoint(), t.DialOptions()...)
		if err != nil {
			return nil, err
		}
		defer cc.Close()
		conn = cc
	}
	drv, err := driver.New(o.Config.Provider.Dialect, conn)
	if err != nil {
		return nil, &config.Error{Key: "provider.dialect", Err: err}
	}
	timeout := o.Config.Tests.CallTimeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, 2*timeout)
	caps, capErr := drv.Capabilities(cctx)
	cancel()
	p.Capabilities = caps
	if capErr != nil {
		p.CapabilitiesError = capErr.Error()
	}
	for _, r := range reqs {
		a := Applicability{Requirement: r, Applies: true}
		switch {
		case !slices.Contains(profiles, r.Profile):
			a.Applies, a.Reason = false, fmt.Sprintf("profile %s not selected (--profile)", r.Profile)
		default:
			if reason := skipReason(r.Profile, o.Config, caps, capErr); reason != "" {
				a.Applies, a.Reason = false, "profile "+r.Profile+": "+reason
				break
			}
			var missing []string
			for _, n := range r.Needs {
				if ok, why := drv.Supports(driver.Feature(n)); !ok {
					missing = append(missing, fmt.Sprintf("%s (%s)", n, why))
				}
			}
			if len(missing) > 0 {
				a.Applies, a.Reason = false, fmt.Sprintf("dialect %s cannot express %s", drv.Dialect(), strings.Join(missing, ", "))
			}
		}
		p.Requirements = append(p.Requirements, a)
	}
	return p, nil
}
