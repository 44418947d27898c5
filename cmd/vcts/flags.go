package main

import (
	"path/filepath"
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
	fs.StringVar(&f.profile, "profile", "all", "profiles to run: core, snapshot, clone or all (comma-separated list allowed)")
	fs.StringVar(&f.o.Target, "target", "", "process (reference file provider, default), endpoint (a running provider) or container")
	fs.StringVar(&f.o.Endpoint, "endpoint", "", "host:port of a running provider (implies --target endpoint)")
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
		if ce, ok := err.(*config.Error); ok && ce.Source == "" && f.configPath != "" {
			ce.Source = f.configPath
		}
		return cfg, nil, err
	}
	profiles, err := config.ParseProfiles(f.profile)
	return cfg, profiles, err
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
