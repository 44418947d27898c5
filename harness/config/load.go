package config

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Error is a configuration or flag mistake. The CLI exits with code 2 on it.
type Error struct {
	// Source is the config file path or "flags".
	Source string
	// Key is the dotted key ("tests.timeout") or the flag ("--timeout").
	Key string
	Err error
	// Also holds the file's further mistakes, so that one run names them all.
	Also []*Error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	const shown = 10
	for i, a := range e.Also {
		if i == shown {
			fmt.Fprintf(&b, "\n  and %d more", len(e.Also)-shown)
			break
		}
		b.WriteString("\n  also ")
		b.WriteString((&Error{Key: a.Key, Err: a.Err}).Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(key, format string, args ...any) *Error {
	return &Error{Key: key, Err: fmt.Errorf(format, args...)}
}

// Load reads and strictly decodes a config file over the defaults. Relative paths in it
// (tls files, known_failing, provider_bin) are resolved against the file's directory by
// Finalize.
func Load(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, &Error{Source: path, Err: err}
	}
	f, err := Parse(data)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Source = path
			return File{}, e
		}
		return File{}, &Error{Source: path, Err: err}
	}
	return f, nil
}

// Parse decodes YAML (or JSON) over the defaults.
func Parse(data []byte) (File, error) {
	f := Default()
	doc, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return File{}, &Error{Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	if strings.TrimSpace(string(doc)) == "null" {
		return f, nil // an empty file is the defaults
	}
	if err := decodeStrict(doc, &f); err != nil {
		return File{}, err
	}
	// A count left out means the suite's default; one written as 0 is a mistake, not that.
	var counts struct {
		Tests struct {
			IdempotentCount *int `json:"idempotent_count"`
			ParallelCreates *int `json:"parallel_creates"`
			ListVMs         *int `json:"list_vms"`
		} `json:"tests"`
	}
	_ = json.Unmarshal(doc, &counts) // decodeStrict has checked the document
	for _, c := range []struct {
		key string
		v   *int
	}{{"tests.idempotent_count", counts.Tests.IdempotentCount}, {"tests.parallel_creates", counts.Tests.ParallelCreates},
		{"tests.list_vms", counts.Tests.ListVMs}} {
		if c.v != nil && *c.v == 0 {
			return File{}, errorf(c.key, "must be positive, got 0 (leave the key out for the suite's default)")
		}
	}
	return f, nil
}

// Overrides are command-line flags; a zero field leaves the file's value.
type Overrides struct {
	Target        string
	Endpoint      string
	ProviderName  string
	Dialect       string
	Tags          string
	Concurrency   int
	KnownFailing  string
	KnownFlaky    string
	UnknownVMID   string
	UnknownTaskID string
	Timeout       time.Duration
	TLSCA         string
	TLSCert       string
	TLSKey        string
	TLSServerName string
	Image         string
	ProviderBin   string
}

// Apply lays flags over the file. Paths given as flags are relative to the working
// directory, so they are made absolute here, before Finalize resolves the file's own.
func (f *File) Apply(o Overrides) error {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	abs := func(flag, p string) (string, error) {
		if p == "" {
			return "", nil
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return "", &Error{Source: "flags", Key: flag, Err: err}
		}
		return a, nil
	}
	set(&f.Target.Kind, o.Target)
	set(&f.Provider.Endpoint, o.Endpoint)
	set(&f.Provider.Name, o.ProviderName)
	set(&f.Provider.Dialect, o.Dialect)
	set(&f.Tests.Tags, o.Tags)
	set(&f.Target.Image, o.Image)
	set(&f.Provider.UnknownVMID, o.UnknownVMID)
	set(&f.Provider.UnknownTaskID, o.UnknownTaskID)
	if o.Image != "" {
		kind := f.Target.Kind
		if kind == "" && f.Provider.Endpoint != "" {
			kind = TargetEndpoint
		} else if kind == "" {
			kind = TargetProcess
		}
		if kind != TargetContainer {
			return &Error{Source: "flags", Key: "--image", Err: fmt.Errorf("applies to the container target (--target container); the %s target runs no image", kind)}
		}
	}
	if o.Concurrency < 0 {
		return &Error{Source: "flags", Key: "--concurrency", Err: fmt.Errorf("must be positive, got %d", o.Concurrency)}
	}
	if o.Concurrency > 0 {
		f.Tests.Parallel = Parallel(o.Concurrency)
	}
	if o.Timeout < 0 {
		return &Error{Source: "flags", Key: "--timeout", Err: fmt.Errorf("must be positive, got %s", o.Timeout)}
	}
	if o.Timeout > 0 {
		f.Tests.Timeout = Duration(o.Timeout)
	}
	for _, p := range []struct {
		flag string
		v    string
		dst  *string
	}{
		{"--known-failing", o.KnownFailing, &f.Tests.KnownFailing},
		{"--known-flaky", o.KnownFlaky, &f.Tests.KnownFlaky},
		{"--provider-bin", o.ProviderBin, &f.Target.ProviderBin},
		{"--tls-ca", o.TLSCA, &f.Provider.TLS.CA},
		{"--tls-cert", o.TLSCert, &f.Provider.TLS.Cert},
		{"--tls-key", o.TLSKey, &f.Provider.TLS.Key},
	} {
		a, err := abs(p.flag, p.v)
		if err != nil {
			return err
		}
		set(p.dst, a)
	}
	set(&f.Provider.TLS.ServerName, o.TLSServerName)
	if o.TLSCA != "" || o.TLSCert != "" || o.TLSKey != "" || o.TLSServerName != "" {
		f.Provider.TLS.Enabled = true
	}
	return nil
}

var (
	tagTerm    = regexp.MustCompile(`^~?@[A-Za-z0-9_.\-]+$`)
	maturities = map[string]bool{"alpha": true, "beta": true, "stable": true, "deprecated": true}
)

// Finalize fills what depends on other keys (the target kind, the provider name), makes
// the file's relative paths absolute against baseDir and validates everything. After it
// the File is what the run uses.
func (f *File) Finalize(baseDir string) error {
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && baseDir != "" {
			*p = filepath.Join(baseDir, *p)
		}
	}
	resolve(&f.Provider.TLS.CA)
	resolve(&f.Provider.TLS.Cert)
	resolve(&f.Provider.TLS.Key)
	resolve(&f.Tests.KnownFailing)
	resolve(&f.Tests.KnownFlaky)
	resolve(&f.Target.ProviderBin)

	if f.Provider.Dialect == "" {
		f.Provider.Dialect = DialectV1
	}
	if f.Provider.Dialect != DialectV1 && f.Provider.Dialect != DialectTutorial {
		return errorf("provider.dialect", "want v1 or tutorial, got %q", f.Provider.Dialect)
	}
	if f.Target.Kind == "" {
		f.Target.Kind = TargetProcess
		if f.Provider.Endpoint != "" {
			f.Target.Kind = TargetEndpoint
		}
	}
	switch f.Target.Kind {
	case TargetProcess, TargetContainer:
		if f.Provider.Endpoint != "" {
			return errorf("provider.endpoint", "%q is set, but the %s target starts its own provider and tests that one; "+
				"test the provider at the endpoint with target.kind endpoint (--target endpoint), or drop the endpoint", f.Provider.Endpoint, f.Target.Kind)
		}
		if f.Target.Kind == TargetContainer && f.Target.ProviderBin != "" {
			return errorf("target.provider_bin", "applies to the process target; the container target runs target.image")
		}
		if b := f.Target.ProviderBin; b != "" {
			if fi, err := os.Stat(b); err != nil {
				return &Error{Key: "target.provider_bin", Err: err}
			} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
				return errorf("target.provider_bin", "%s is not an executable file", b)
			}
		}
		if f.Provider.TLS.Enabled {
			return errorf("provider.tls", "the %s target serves the file provider in plaintext; TLS applies to the endpoint target", f.Target.Kind)
		}
		if f.Provider.Name == "" {
			f.Provider.Name = "file"
		}
		if f.Target.Kind == TargetContainer && f.Target.Image == "" {
			f.Target.Image = DefaultImage
		}
		if f.Target.Port < 0 || f.Target.Port > 65535 {
			return errorf("target.port", "want a port number, got %d", f.Target.Port)
		}
	case TargetConnection:
	case TargetEndpoint:
		if f.Provider.Endpoint == "" {
			return errorf("provider.endpoint", "the endpoint target needs an endpoint (host:port), e.g. --endpoint 127.0.0.1:9443")
		}
		if f.Target.ProviderBin != "" {
			return errorf("target.provider_bin", "applies to the process target; the endpoint target tests the provider at provider.endpoint")
		}
	default:
		return errorf("target.kind", "want process, endpoint or container, got %q", f.Target.Kind)
	}
	if e := f.Provider.Endpoint; e != "" && !strings.Contains(e, ":///") && !strings.HasPrefix(e, "unix:") {
		_, port, err := net.SplitHostPort(e)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return errorf("provider.endpoint", "want host:port with a port from 1 to 65535 (or a gRPC target such as unix:///path), got %q", e)
		}
	}
	if err := f.validateTLS(); err != nil {
		return err
	}
	if f.Profiles.Core.Enabled != nil && !*f.Profiles.Core.Enabled {
		return errorf("profiles.core.enabled", "the core profile is mandatory and cannot be disabled")
	}
	for i, s := range f.Profiles.Core.VMSpecs {
		key := fmt.Sprintf("profiles.core.vm_specs[%d]", i)
		switch {
		case s.CPU == 0:
			return errorf(key+".cpu", "is required: a positive number of CPUs")
		case s.CPU < 0:
			return errorf(key+".cpu", "must be a positive number of CPUs, got %d", s.CPU)
		case s.Memory == 0:
			return errorf(key+".memory", "is required: a positive number of MiB")
		case s.Memory < 0:
			return errorf(key+".memory", "must be a positive number of MiB, got %d", s.Memory)
		}
		if s.DiskGiB < 0 {
			return errorf(key+".disk_gib", "must not be negative, got %d", s.DiskGiB)
		}
	}
	t := &f.Tests
	for _, c := range []struct {
		key string
		v   int
	}{{"tests.idempotent_count", t.IdempotentCount}, {"tests.parallel_creates", t.ParallelCreates}, {"tests.list_vms", t.ListVMs}} {
		if c.v < 0 {
			return errorf(c.key, "must be positive, got %d", c.v)
		}
	}
	if t.ListVMs > MaxListVMs {
		return errorf("tests.list_vms", "at most %d VMs, got %d", MaxListVMs, t.ListVMs)
	}
	if t.Parallel == 0 {
		t.Parallel = DefaultParallel
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(DefaultTimeout)
	}
	if err := ValidateTags(t.Tags); err != nil {
		return &Error{Key: "tests.tags", Err: err}
	}
	if t.KnownFailing != "" {
		if _, err := os.Stat(t.KnownFailing); err != nil {
			return &Error{Key: "tests.known_failing", Err: err}
		}
	}
	if t.KnownFlaky != "" {
		if _, err := os.Stat(t.KnownFlaky); err != nil {
			return &Error{Key: "tests.known_flaky", Err: err}
		}
	}
	if m := f.Catalog.Maturity; m != "" && !maturities[m] {
		return errorf("catalog.maturity", "want alpha, beta, stable or deprecated, got %q", m)
	}
	return nil
}

func (f *File) validateTLS() error {
	t := f.Provider.TLS
	if !t.Enabled {
		return nil
	}
	if (t.Cert == "") != (t.Key == "") {
		return errorf("provider.tls", "cert and key go together (mTLS; --tls-cert and --tls-key); got only one of them")
	}
	for _, p := range []struct{ key, path string }{{"provider.tls.ca", t.CA}, {"provider.tls.cert", t.Cert}, {"provider.tls.key", t.Key}} {
		if p.path == "" {
			continue
		}
		if _, err := os.Stat(p.path); err != nil {
			return &Error{Key: p.key, Err: err}
		}
	}
	return nil
}

// ValidateTags checks a godog tag expression: terms joined by "," (or) and "&&" (and),
// each "@tag" or "~@tag" (not). godog itself panics on an empty term.
func ValidateTags(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	for _, or := range strings.Split(expr, ",") {
		for _, term := range strings.Split(or, "&&") {
			term = strings.TrimSpace(term)
			if !tagTerm.MatchString(term) {
				return fmt.Errorf("bad tag term %q in %q: want @tag or ~@tag, joined by \",\" (or) and \"&&\" (and)", term, expr)
			}
		}
	}
	return nil
}

// ParseProfiles turns --profile (core, snapshot, clone, all, or a comma list) into the
// profiles to select, in report order.
func ParseProfiles(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" || s == "all" {
		return append([]string(nil), AllProfiles...), nil
	}
	want := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch p {
		case "all":
			return append([]string(nil), AllProfiles...), nil
		case ProfileCore, ProfileSnapshot, ProfileClone:
			want[p] = true
		default:
			return nil, &Error{Source: "flags", Key: "--profile", Err: fmt.Errorf("want core, snapshot, clone or all, got %q", p)}
		}
	}
	var out []string
	for _, p := range AllProfiles {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// Enabled reports whether the configuration enables a profile.
func (f File) Enabled(profile string) bool {
	switch profile {
	case ProfileSnapshot:
		return f.Profiles.Snapshot.On()
	case ProfileClone:
		return f.Profiles.Clone.On()
	}
	return true
}
