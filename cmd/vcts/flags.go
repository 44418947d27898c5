package main

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vctsio/vcts/harness/config"
)

// targetFlags are the flags that say which provider to reach, shared by run and list.
type targetFlags struct {
	configPath string
	profile    string
	verbose    bool
	o          config.Overrides
}

func (f *targetFlags) bind(fs *pflag.FlagSet) {
	fs.StringVarP(&f.configPath, "config", "c", "", "configuration file (vcts-config.yaml); flags override it")
	fs.StringVar(&f.profile, "profile", "all", "profiles to run (list: to show): core, snapshot, clone or all (comma-separated list allowed)")
	fs.StringVar(&f.o.Target, "target", "", "process (reference file provider, default), endpoint (a running provider) or container")
	fs.StringVar(&f.o.Endpoint, "endpoint", "", "host:port of a running provider (implies --target endpoint)")
	fs.StringVar(&f.o.ProviderName, "provider-name", "", "the provider's name in the reports and catalog entry (provider.name)")
	fs.StringVar(&f.o.Dialect, "dialect", "", "provider API: v1 (VirtRigaud wire protocol, default) or tutorial")
	fs.StringVar(&f.o.TLSCA, "tls-ca", "", "CA certificate (PEM) to verify the provider; enables TLS")
	fs.StringVar(&f.o.TLSCert, "tls-cert", "", "client certificate (PEM) for mTLS; needs --tls-key")
	fs.StringVar(&f.o.TLSKey, "tls-key", "", "client key (PEM) for mTLS; needs --tls-cert")
	fs.StringVar(&f.o.TLSServerName, "tls-server-name", "", "server name to verify in the provider's certificate; enables TLS")
	fs.StringVar(&f.o.Image, "image", "", "container target: provider image (default "+config.DefaultImage+")")
	fs.StringVar(&f.o.ProviderBin, "provider-bin", "", "process target: provider-file binary to run")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log what the harness does (target start, cleanup) on stderr")
}

// resolve loads the configuration, lays the flags over it and finalizes it.
func (f *targetFlags) resolve() (config.File, []string, error) {
	cfg := config.Default()
	base := ""
	if f.configPath != "" {
		var err error
		if cfg, err = config.Load(f.configPath); err != nil {
			return cfg, nil, err
		}
		if base, err = filepath.Abs(filepath.Dir(f.configPath)); err != nil {
			return cfg, nil, err
		}
	}
	if f.o.Endpoint != "" && f.o.Target == "" {
		f.o.Target = config.TargetEndpoint
	}
	if err := cfg.Apply(f.o); err != nil {
		return cfg, nil, err
	}
	if err := cfg.Finalize(base); err != nil {
		if ce, ok := err.(*config.Error); ok && ce.Source == "" {
			if flag := f.flagFor(ce.Key); flag != "" {
				ce.Source, ce.Key = "flags", flag+" ("+ce.Key+")"
			} else if f.configPath != "" {
				ce.Source = f.configPath
			}
		}
		return cfg, nil, err
	}
	if strings.TrimSpace(f.profile) == "" {
		return cfg, nil, &config.Error{Source: "flags", Key: "--profile", Err: errors.New("is empty; want core, snapshot, clone or all")}
	}
	profiles, err := config.ParseProfiles(f.profile)
	return cfg, profiles, err
}

// flagFor names the flag that set a configuration key, when one did: a bad value is then
// reported under the flag the user typed, not under a key of a file they may not have.
func (f *targetFlags) flagFor(key string) string {
	o := f.o
	for _, m := range []struct{ key, flag, value string }{
		{"provider.endpoint", "--endpoint", o.Endpoint},
		{"provider.name", "--provider-name", o.ProviderName},
		{"provider.dialect", "--dialect", o.Dialect},
		{"target.kind", "--target", o.Target},
		{"target.provider_bin", "--provider-bin", o.ProviderBin},
		{"tests.tags", "--tags", o.Tags},
		{"tests.known_failing", "--known-failing", o.KnownFailing},
		{"tests.known_flaky", "--known-flaky", o.KnownFlaky},
		{"provider.tls.ca", "--tls-ca", o.TLSCA},
		{"provider.tls.cert", "--tls-cert", o.TLSCert},
		{"provider.tls.key", "--tls-key", o.TLSKey},
	} {
		if m.key == key && m.value != "" {
			return m.flag
		}
	}
	return ""
}

// durationFlag lets --timeout be empty (keep the file's value) or a Go duration.
type durationFlag struct{ d *time.Duration }

func (d durationFlag) String() string {
	if d.d == nil || *d.d == 0 {
		return ""
	}
	return d.d.String()
}

func (d durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d.d = v
	return nil
}

func (durationFlag) Type() string { return "duration" }
