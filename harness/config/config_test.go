package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tutorial's own file: booleans and a short string timeout.
const tutorialYAML = `
provider:
  name: "file"
  endpoint: "localhost:9443"
  tls: false

profiles:
  core:
    enabled: true
    vm_specs:
      - name: "basic"
        cpu: 1
        memory: 1024
        image: "test:latest"
      - name: "medium"
        cpu: 2
        memory: 4096
        image: "ubuntu:20.04"
  snapshot:
    enabled: true
  clone:
    enabled: true

tests:
  timeout: "30s"
  parallel: false
  cleanup: true
`

func TestParseTutorialFormat(t *testing.T) {
	f, err := Parse([]byte(tutorialYAML))
	require.NoError(t, err)
	require.NoError(t, f.Finalize(""))

	assert.Equal(t, "file", f.Provider.Name)
	assert.Equal(t, "localhost:9443", f.Provider.Endpoint)
	assert.False(t, f.Provider.TLS.Enabled)
	assert.Equal(t, TargetEndpoint, f.Target.Kind, "an endpoint in the file means the endpoint target")
	assert.Equal(t, DialectV1, f.Provider.Dialect)
	require.Len(t, f.Profiles.Core.VMSpecs, 2)
	assert.Equal(t, VMSpec{Name: "basic", CPU: 1, Memory: 1024, Image: "test:latest"}, f.Profiles.Core.VMSpecs[0])
	assert.Equal(t, 30*time.Second, f.Tests.Timeout.D())
	assert.Equal(t, Parallel(1), f.Tests.Parallel, "parallel: false runs one scenario at a time")
	assert.True(t, f.Tests.CleanupOn())
	assert.True(t, f.Enabled(ProfileSnapshot))
	assert.True(t, f.Enabled(ProfileClone))
}

func TestParseExtensions(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ca.pem", "cert.pem", "key.pem", "kf.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	f, err := Parse([]byte(`
provider:
  name: vsphere
  endpoint: provider.example:9443
  tls: {ca: ca.pem, cert: cert.pem, key: key.pem, server_name: provider.internal}
  dialect: tutorial
  unknown_vm_id: "999999"
target: {kind: endpoint, start_timeout: 5s}
profiles:
  core:
    vm_specs:
      - cpu: 2
        memory: 2048
        image_json: '{"TemplateName":"ubuntu-22.04-template"}'
        networks_json: [{Name: vm-network}]
        placement_json: {Datastore: ds1, Password: hunter2}
  snapshot: {enabled: false}
tests:
  parallel: 8
  idempotent_count: 5
  parallel_creates: 16
  call_timeout: 2s
  task_timeout: 3m
  known_failing: kf.txt
  tags: "@CORE-001,@CORE-002 && ~@needs-tasks"
catalog: {maturity: beta, tags: [vmware]}
`))
	require.NoError(t, err)
	require.NoError(t, f.Finalize(dir))

	assert.Equal(t, TLS{Enabled: true, CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"),
		Key: filepath.Join(dir, "key.pem"), ServerName: "provider.internal"}, f.Provider.TLS)
	assert.Equal(t, DialectTutorial, f.Provider.Dialect)
	assert.Equal(t, "999999", f.Provider.UnknownVMID)
	assert.Equal(t, 5*time.Second, f.Target.StartTimeout.D())
	spec := f.Profiles.Core.VMSpecs[0]
	assert.JSONEq(t, `{"TemplateName":"ubuntu-22.04-template"}`, string(spec.ImageJSON))
	assert.JSONEq(t, `[{"Name":"vm-network"}]`, string(spec.NetworksJSON), "a YAML list becomes JSON")
	assert.JSONEq(t, `{"Datastore":"ds1","Password":"hunter2"}`, string(spec.PlacementJSON))
	assert.False(t, f.Enabled(ProfileSnapshot))
	assert.True(t, f.Enabled(ProfileClone))
	assert.Equal(t, Parallel(8), f.Tests.Parallel)
	assert.Equal(t, 5, f.Tests.IdempotentCount)
	assert.Equal(t, 16, f.Tests.ParallelCreates)
	assert.Equal(t, 2*time.Second, f.Tests.CallTimeout.D())
	assert.Equal(t, 3*time.Minute, f.Tests.TaskTimeout.D())
	assert.Equal(t, filepath.Join(dir, "kf.txt"), f.Tests.KnownFailing)
}

func TestDefaultsWithoutFile(t *testing.T) {
	f := Default()
	require.NoError(t, f.Finalize(""))
	assert.Equal(t, TargetProcess, f.Target.Kind, "no config and no target: the reference provider on the process target")
	assert.Equal(t, "file", f.Provider.Name)
	assert.Equal(t, DefaultTimeout, f.Tests.Timeout.D())
	assert.Equal(t, Parallel(DefaultParallel), f.Tests.Parallel)
	assert.Empty(t, f.Profiles.Core.VMSpecs, "the suite's own default VM applies")

	empty, err := Parse([]byte("  \n# nothing\n"))
	require.NoError(t, err)
	assert.Equal(t, Default(), empty, "an empty file is the defaults")

	c := Default()
	c.Target.Kind = TargetContainer
	require.NoError(t, c.Finalize(""))
	assert.Equal(t, DefaultImage, c.Target.Image)
}

func TestStrictErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, key, msg string
	}{
		{"unknown top-level key", "providers: {}", "providers", "unknown key"},
		{"unknown nested key lists the known ones", "provider: {tsl: true}", "provider.tsl", "known keys here: dialect, endpoint, name, tls, unknown_task_id, unknown_vm_id"},
		{"unknown key in a list item", "profiles: {core: {vm_specs: [{cpu: 1, memory: 1, ram: 2}]}}", "profiles.core.vm_specs[0].ram", "unknown key"},
		{"unknown key in the tls mapping", "provider: {tls: {ca: a, bogus: b}}", "provider.tls", `unknown field "bogus"`},
		{"case matters", "Provider: {}", "Provider", "unknown key"},
		{"integer expected", "profiles: {core: {vm_specs: [{cpu: two, memory: 1}]}}", "profiles.core.vm_specs[0].cpu", `want an integer, got "two"`},
		{"boolean expected", "profiles: {snapshot: {enabled: sometimes}}", "profiles.snapshot.enabled", "want true or false"},
		{"mapping expected", "provider: file", "provider", "want a mapping"},
		{"list expected", "profiles: {core: {vm_specs: {cpu: 1}}}", "profiles.core.vm_specs", "want a list"},
		{"bare number is no duration", "tests: {timeout: 30}", "tests.timeout", "want a duration"},
		{"bad duration", "tests: {call_timeout: soon}", "tests.call_timeout", "want a duration"},
		{"non-positive duration", "tests: {task_timeout: 0s}", "tests.task_timeout", "must be positive"},
		{"parallel zero", "tests: {parallel: 0}", "tests.parallel", "positive integer"},
		{"parallel word", "tests: {parallel: many}", "tests.parallel", "positive integer"},
		{"raw JSON string that is not JSON", `profiles: {core: {vm_specs: [{cpu: 1, memory: 1, image_json: "{bad"}]}}`, "profiles.core.vm_specs[0].image_json", "not valid JSON"},
		{"raw JSON scalar", `profiles: {core: {vm_specs: [{cpu: 1, memory: 1, networks_json: 3}]}}`, "profiles.core.vm_specs[0].networks_json", "mapping or a list"},
		{"tls neither bool nor mapping", "provider: {tls: maybe}", "provider.tls", "want true, false or a mapping"},
		{"zero repetitions", "tests: {idempotent_count: 0}", "tests.idempotent_count", "must be positive, got 0"},
		{"zero parallel creates", "tests: {parallel_creates: 0}", "tests.parallel_creates", "must be positive, got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.key, ce.Key)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), tc.key+": "), "the message starts with the key: %q", err)
		})
	}
}

func TestYAMLSyntaxAndDuplicates(t *testing.T) {
	for _, y := range []string{"provider: [", "tests: {parallel: 1}\ntests: {parallel: 2}\n"} {
		_, err := Parse([]byte(y))
		var ce *Error
		require.ErrorAs(t, err, &ce, y)
		assert.Contains(t, err.Error(), "not valid YAML")
	}
}

func TestFinalizeRejectsBadValues(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	require.NoError(t, os.WriteFile(cert, []byte("x"), 0o600))
	for _, tc := range []struct {
		name string
		edit func(*File)
		key  string
		msg  string
	}{
		{"dialect", func(f *File) { f.Provider.Dialect = "v2" }, "provider.dialect", `want v1 or tutorial, got "v2"`},
		{"target kind", func(f *File) { f.Target.Kind = "vm" }, "target.kind", "want process, endpoint or container"},
		{"endpoint target without endpoint", func(f *File) { f.Target.Kind = TargetEndpoint }, "provider.endpoint", "needs an endpoint"},
		{"endpoint without port", func(f *File) { f.Provider.Endpoint = "localhost" }, "provider.endpoint", "want host:port"},
		{"endpoint with a port name", func(f *File) { f.Provider.Endpoint = "localhost:notaport" }, "provider.endpoint", "port from 1 to 65535"},
		{"endpoint with a port out of range", func(f *File) { f.Provider.Endpoint = "127.0.0.1:99999" }, "provider.endpoint", "port from 1 to 65535"},
		{"endpoint for the process target", func(f *File) { f.Target.Kind = TargetProcess; f.Provider.Endpoint = "127.0.0.1:9443" },
			"provider.endpoint", "starts its own provider"},
		{"provider binary for the endpoint target", func(f *File) { f.Provider.Endpoint = "127.0.0.1:9443"; f.Target.ProviderBin = "/bin/pf" },
			"target.provider_bin", "applies to the process target"},
		{"missing provider binary", func(f *File) { f.Target.ProviderBin = filepath.Join(dir, "nope") }, "target.provider_bin", "no such file"},
		{"provider binary that is no executable", func(f *File) { f.Target.ProviderBin = dir }, "target.provider_bin", "not an executable file"},
		{"provider binary for the container target", func(f *File) { f.Target.Kind = TargetContainer; f.Target.ProviderBin = "/bin/pf" },
			"target.provider_bin", "applies to the process target"},
		{"TLS on the process target", func(f *File) { f.Provider.TLS.Enabled = true }, "provider.tls", "applies to the endpoint target"},
		{"cert without key", func(f *File) {
			f.Provider.Endpoint = "h:1"
			f.Provider.TLS = TLS{Enabled: true, Cert: cert}
		}, "provider.tls", "cert and key go together"},
		{"missing CA file", func(f *File) {
			f.Provider.Endpoint = "h:1"
			f.Provider.TLS = TLS{Enabled: true, CA: filepath.Join(dir, "nope.pem")}
		}, "provider.tls.ca", "no such file"},
		{"core disabled", func(f *File) { no := false; f.Profiles.Core.Enabled = &no }, "profiles.core.enabled", "mandatory"},
		{"no CPU", func(f *File) { f.Profiles.Core.VMSpecs = []VMSpec{{CPU: 0, Memory: 1}} }, "profiles.core.vm_specs[0].cpu", "is required: a positive number of CPUs"},
		{"negative CPU", func(f *File) { f.Profiles.Core.VMSpecs = []VMSpec{{CPU: -2, Memory: 1}} }, "profiles.core.vm_specs[0].cpu", "positive number of CPUs, got -2"},
		{"no memory", func(f *File) { f.Profiles.Core.VMSpecs = []VMSpec{{CPU: 1}} }, "profiles.core.vm_specs[0].memory", "is required"},
		{"negative memory", func(f *File) { f.Profiles.Core.VMSpecs = []VMSpec{{CPU: 1, Memory: -1}} }, "profiles.core.vm_specs[0].memory", "positive"},
		{"negative idempotent count", func(f *File) { f.Tests.IdempotentCount = -1 }, "tests.idempotent_count", "positive"},
		{"tag expression godog would panic on", func(f *File) { f.Tests.Tags = "@a && " }, "tests.tags", "bad tag term"},
		{"tag without @", func(f *File) { f.Tests.Tags = "CORE-001" }, "tests.tags", "bad tag term"},
		{"missing known-failing file", func(f *File) { f.Tests.KnownFailing = filepath.Join(dir, "kf") }, "tests.known_failing", "no such file"},
		{"maturity", func(f *File) { f.Catalog.Maturity = "ga" }, "catalog.maturity", "want alpha, beta, stable or deprecated"},
		{"container port", func(f *File) { f.Target.Kind = TargetContainer; f.Target.Port = 70000 }, "target.port", "want a port number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Default()
			tc.edit(&f)
			err := f.Finalize("")
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.key, ce.Key)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestFlagsOverrideTheFile(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("x"), 0o600))
	f, err := Parse([]byte(tutorialYAML))
	require.NoError(t, err)
	require.NoError(t, f.Apply(Overrides{
		Endpoint: "127.0.0.1:7000", Dialect: DialectTutorial, Concurrency: 3, Timeout: 2 * time.Minute,
		Tags: "@CORE-001", TLSCA: ca, TLSServerName: "p.local",
		UnknownVMID: "999999", UnknownTaskID: "UPID:x",
	}))
	require.NoError(t, f.Finalize("/config/dir"))
	assert.Equal(t, "127.0.0.1:7000", f.Provider.Endpoint)
	assert.Equal(t, DialectTutorial, f.Provider.Dialect)
	assert.Equal(t, Parallel(3), f.Tests.Parallel)
	assert.Equal(t, 2*time.Minute, f.Tests.Timeout.D())
	assert.Equal(t, "@CORE-001", f.Tests.Tags)
	assert.Equal(t, TLS{Enabled: true, CA: ca, ServerName: "p.local"}, f.Provider.TLS, "any TLS flag enables TLS; flag paths are not rebased on the config dir")
	assert.Equal(t, "999999", f.Provider.UnknownVMID)
	assert.Equal(t, "UPID:x", f.Provider.UnknownTaskID)

	// Zero overrides leave the file alone.
	g, err := Parse([]byte(tutorialYAML))
	require.NoError(t, err)
	before := g
	require.NoError(t, g.Apply(Overrides{}))
	assert.Equal(t, before, g)

	// A relative flag path is taken against the working directory.
	h := Default()
	require.NoError(t, h.Apply(Overrides{KnownFailing: "kf.txt"}))
	wd, _ := os.Getwd()
	assert.Equal(t, filepath.Join(wd, "kf.txt"), h.Tests.KnownFailing)

	var ce *Error
	require.ErrorAs(t, Default().applied(Overrides{Concurrency: -2}), &ce)
	assert.Equal(t, "--concurrency", ce.Key)
	require.ErrorAs(t, Default().applied(Overrides{Timeout: -time.Second}), &ce)
	assert.Equal(t, "--timeout", ce.Key)
}

func (f File) applied(o Overrides) error { return f.Apply(o) }

func TestParseProfiles(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  AllProfiles,
		"all":               AllProfiles,
		"core":              {ProfileCore},
		"clone,core":        {ProfileCore, ProfileClone},
		"snapshot, all":     AllProfiles,
		"snapshot,snapshot": {ProfileSnapshot},
	} {
		got, err := ParseProfiles(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseProfiles("core,advanced")
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "--profile", ce.Key)
	assert.Contains(t, err.Error(), `"advanced"`)
}

func TestRedactedHidesSecretsButKeepsPaths(t *testing.T) {
	f := Default()
	f.Provider.TLS = TLS{Enabled: true, CA: "/tls/ca.crt", Cert: "/tls/tls.crt", Key: "/tls/tls.key"}
	f.Profiles.Core.VMSpecs = []VMSpec{{CPU: 1, Memory: 1,
		PlacementJSON: `{"Datastore":"ds1","Credentials":{"user":"u"},"nested":[{"apiToken":"t"}]}`,
		ImageJSON:     `{"URL":"http://x","Password":"p"}`}}
	r := f.Redacted()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	out := string(b)
	for _, secret := range []string{`"u"`, `"t"`, `"p"`} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "ds1")
	assert.Contains(t, out, "/tls/tls.key", "paths are not key material")
	assert.Contains(t, string(f.Profiles.Core.VMSpecs[0].ImageJSON), `"p"`, "the original is untouched")
}

func TestJSONRoundTrip(t *testing.T) {
	f, err := Parse([]byte(tutorialYAML))
	require.NoError(t, err)
	f.Provider.TLS = TLS{Enabled: true, CA: "/ca"}
	f.Profiles.Core.VMSpecs[0].PlacementJSON = `{"a":1}`
	b, err := json.Marshal(f)
	require.NoError(t, err)
	var back File
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, f, back)
	// A file written back as YAML/JSON reads again strictly.
	again, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

func TestShippedExampleIsValid(t *testing.T) {
	path := filepath.Join("..", "..", "vcts-config.yaml")
	f, err := Load(path)
	require.NoError(t, err)
	require.NoError(t, f.Finalize(filepath.Dir(path)))
	assert.Equal(t, TargetProcess, f.Target.Kind)
	assert.NotEmpty(t, f.Catalog.Maintainer, "the shipped example fills the catalog so its entry validates")
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vcts-config.yaml")
	require.NoError(t, os.WriteFile(path, []byte("tests: {parallel: x}\n"), 0o600))
	_, err := Load(path)
	require.Error(t, err)
	assert.Equal(t, path+`: tests.parallel: want a positive integer or true/false, got "x"`, err.Error())

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	var ce *Error
	require.True(t, errors.As(err, &ce))
}

func TestStrictErrorsNameEveryMistake(t *testing.T) {
	_, err := Parse([]byte("providers: {}\nprovider: {tsl: true, dialect: 3}\ntests: {parallel: 0}\n" +
		"profiles: {core: {vm_specs: [{cpu: two, memory: 1}, {cpu: 1, memory: 1, ram: 2}]}}\n"))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "profiles.core.vm_specs[0].cpu", ce.Key, "the first mistake in key order leads")
	var keys []string
	for _, a := range ce.Also {
		keys = append(keys, a.Key)
	}
	assert.Equal(t, []string{"profiles.core.vm_specs[1].ram", "provider.dialect", "provider.tsl", "providers", "tests.parallel"}, keys)
	assert.Equal(t, 5, strings.Count(err.Error(), "\n  also "), err.Error())

	var many strings.Builder
	for i := range 15 {
		fmt.Fprintf(&many, "k%02d: 1\n", i)
	}
	_, err = Parse([]byte(many.String()))
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "\n  and 4 more", "a flood of mistakes is cut short")
}

func TestImageFlagOnlyForTheContainerTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Overrides
		kind string
	}{
		{"default process target", Overrides{Image: "x/y:1"}, "process"},
		{"endpoint", Overrides{Image: "x/y:1", Endpoint: "127.0.0.1:9443"}, "endpoint"},
	} {
		f := Default()
		err := f.Apply(tc.o)
		var ce *Error
		require.ErrorAs(t, err, &ce, tc.name)
		assert.Equal(t, "--image", ce.Key)
		assert.Contains(t, err.Error(), "the "+tc.kind+" target runs no image")
	}
	f := Default()
	require.NoError(t, f.Apply(Overrides{Image: "x/y:1", Target: TargetContainer}))
	assert.Equal(t, "x/y:1", f.Target.Image)
}
