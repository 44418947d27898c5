package verify

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/scaffold/initproject"
	"github.com/vctsio/vcts/scaffold/project"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// fakeProject is a directory that looks like a provider project; nothing in it builds.
func fakeProject(t *testing.T, configYAML string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/provider-fake\n\ngo 1.26.0\n")
	writeFile(t, filepath.Join(dir, "cmd", "provider-fake", "main.go"), "package main\n")
	if configYAML != "" {
		writeFile(t, filepath.Join(dir, project.ConfigFile), configYAML)
	}
	return dir
}

func TestRunRejectsUsageMistakesBeforeBuilding(t *testing.T) {
	for _, tc := range []struct {
		name, dir, profile, want string
	}{
		{"bad profile", fakeProject(t, ""), "everything", `--profile: want core, snapshot, clone or all, got "everything"`},
		{"not a project", t.TempDir(), "all", "is not a provider project"},
		{"unknown config key", fakeProject(t, "provider:\n  nmae: x\n"), "all", "provider.nmae: unknown key"},
		{"core disabled", fakeProject(t, "profiles:\n  core:\n    enabled: false\n"), "core", "the core profile is mandatory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			oc, err := Run(t.Context(), Options{Dir: tc.dir, Profile: tc.profile, Out: &out, Go: "/nonexistent/go"})
			require.Error(t, err)
			assert.Nil(t, oc)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, ExitUsage, ExitCodeOf(err))
			assert.NotContains(t, out.String(), "==> build", "nothing was built")
		})
	}
}

func TestRunStopsAtTheFirstFailingStep(t *testing.T) {
	// A go command that fails stands in for a broken build.
	goBin := filepath.Join(t.TempDir(), "go")
	writeFile(t, goBin, "#!/bin/sh\necho \"./x.go:1:1: syntax error: $*\" >&2\nexit 1\n")
	require.NoError(t, os.Chmod(goBin, 0o755))
	var out bytes.Buffer
	_, err := Run(t.Context(), Options{Dir: fakeProject(t, ""), Out: &out, Go: goBin})
	var se *StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "go build ./...", se.Step)
	assert.Contains(t, se.Output, "syntax error: build ./...")
	assert.ErrorContains(t, err, "the project has no go.sum yet: run `go mod tidy`")
	assert.Equal(t, ExitFail, ExitCodeOf(err))
	assert.Contains(t, out.String(), "✗ build failed")
	assert.NotContains(t, out.String(), "==> vet")
}

func TestLoadConfigAdaptsToALaunchedProvider(t *testing.T) {
	dir := fakeProject(t, "provider:\n  endpoint: 10.0.0.1:9443\n  tls: true\ntarget:\n  kind: container\n  image: x/y:1\n  start_timeout: 45s\n")
	p, err := project.Open(dir, "")
	require.NoError(t, err)
	cfg, notes, err := loadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, "fake", cfg.Provider.Name, "the name defaults to cmd/provider-NAME")
	assert.False(t, cfg.Provider.TLS.Enabled)
	assert.Equal(t, config.Target{Kind: config.TargetEndpoint, StartTimeout: config.Duration(45e9)}, cfg.Target)
	assert.Len(t, notes, 3)
	assert.Contains(t, strings.Join(notes, "\n"), `provider.endpoint "10.0.0.1:9443" is replaced`)
	assert.Contains(t, strings.Join(notes, "\n"), "provider.tls is ignored")
	assert.Contains(t, strings.Join(notes, "\n"), `target.kind "container" is ignored`)

	_, notes, err = loadConfig(project.Project{Dir: t.TempDir(), Name: "x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"no vcts-config.yaml: using the suite's defaults"}, notes)
}

func TestVerdictLine(t *testing.T) {
	p := project.Project{Name: "acme"}
	rep := &results.Report{Verdict: results.VerdictPass, Profiles: []results.Profile{
		{Name: "core", Verdict: results.VerdictPass},
		{Name: "snapshot", Verdict: results.VerdictSkip, Reason: "the provider does not offer snapshots (raw)"},
		{Name: "clone", Verdict: results.VerdictSkip, Reason: "disabled in the configuration (profiles.clone.enabled: false)"},
	}}
	assert.Equal(t, "PASS: provider-acme is conformant (core pass, snapshot skip (not offered), clone skip (disabled in the configuration))", verdictLine(p, rep, nil))
	rep.Verdict, rep.Profiles[0].Verdict = results.VerdictPartial, results.VerdictPartial
	assert.True(t, strings.HasPrefix(verdictLine(p, rep, nil), "PARTIAL: provider-acme is not fully conformant"))
	rep.Verdict, rep.Profiles[0].Verdict = results.VerdictFail, results.VerdictFail
	assert.True(t, strings.HasPrefix(verdictLine(p, rep, nil), "FAIL: provider-acme is not conformant (core fail"))
	assert.Equal(t, "FAIL: provider-acme could not be tested: endpoint target: boom", verdictLine(p, rep, errors.New("endpoint target: boom\ndetails")))
	assert.True(t, strings.HasPrefix(verdictLine(p, rep, errInterrupted), "STOPPED: provider-acme was not fully tested: the run was interrupted"))
}

// generated writes a project that builds against this checkout, after edit changes it.
func generated(t *testing.T, edit func(dir string)) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a generated project")
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "provider-acme")
	_, err = initproject.Generate(initproject.Options{Name: "acme", Dir: dir, VCTSPath: root})
	require.NoError(t, err)
	// The checkout's go.sum covers every module the project needs (it builds against this
	// checkout): -mod=mod then adds no line to verify against the checksum database, which a
	// fresh module cache on a machine without internet cannot reach.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	edit(dir)
	return dir
}

func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

var pidInDetail = regexp.MustCompile(`pid (\d+)`)

// providerGone checks that the provider recorded in the report no longer runs.
func providerGone(t *testing.T, rep *results.Report) {
	t.Helper()
	m := pidInDetail.FindStringSubmatch(rep.Target.Detail)
	require.Len(t, m, 2, rep.Target.Detail)
	pid, _ := strconv.Atoi(m[1])
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "provider pid %d still runs", pid)
}

func TestVerifyFailsTheBuildOfABrokenProject(t *testing.T) {
	dir := generated(t, func(dir string) {
		replaceIn(t, filepath.Join(dir, "internal/provider/provider.go"), "return &providerv1.CreateResponse{Id: id}, nil", "return id")
	})
	var out bytes.Buffer
	_, err := Run(t.Context(), Options{Dir: dir, Out: &out})
	var se *StepError
	require.ErrorAs(t, err, &se, out.String())
	assert.Equal(t, "go build ./...", se.Step)
	assert.Contains(t, se.Output, "provider.go")
	assert.NoDirExists(t, filepath.Join(dir, "reports"))
}

func TestVerifyFailsOnAFailingUnitTest(t *testing.T) {
	dir := generated(t, func(dir string) {
		writeFile(t, filepath.Join(dir, "internal/provider/broken_test.go"),
			"package provider\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { t.Fatal(\"deliberately broken\") }\n")
	})
	var out bytes.Buffer
	_, err := Run(t.Context(), Options{Dir: dir, Out: &out})
	var se *StepError
	require.ErrorAs(t, err, &se, out.String())
	assert.Equal(t, "go test -count=1 ./...", se.Step)
	assert.Contains(t, out.String(), "deliberately broken")
	assert.NoDirExists(t, filepath.Join(dir, "reports"))
}

// A provider whose own tests pass but that breaks the contract (Describe of an unknown VM
// answers NotFound instead of exists=false) must get a FAIL, exit 1 and a failing report.
func TestVerifyFailsAnUnconformantProvider(t *testing.T) {
	dir := generated(t, func(dir string) {
		replaceIn(t, filepath.Join(dir, "internal/provider/provider.go"),
			"return &providerv1.DescribeResponse{Exists: false}, nil",
			`return nil, status.Errorf(codes.NotFound, "vm %q not found", req.GetId())`)
		require.NoError(t, os.Remove(filepath.Join(dir, "internal/provider/provider_test.go")))
	})
	var out bytes.Buffer
	oc, err := Run(t.Context(), Options{Dir: dir, Profile: "core", Out: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, ExitFail, oc.ExitCode)
	assert.Equal(t, results.VerdictFail, oc.Report.Verdict)
	var failed []string
	for _, q := range oc.Report.Requirements {
		if q.Status == results.Failed {
			failed = append(failed, q.ID)
		}
	}
	assert.True(t, strings.HasPrefix(oc.Verdict, "FAIL: provider-acme is not conformant (core fail"), oc.Verdict)
	assert.Contains(t, out.String(), "\n"+oc.Verdict+"\n")
	rep, err := results.Load(filepath.Join(dir, "reports", "results.json"))
	require.NoError(t, err)
	assert.Equal(t, results.VerdictFail, rep.Verdict)
	assert.Len(t, rep.Profiles, 1, "--profile core selects core only")
	providerGone(t, oc.Report)

	// Listing the defect as known-failing makes the run partial (exit 3), never a pass.
	// It fails every requirement that describes a missing VM: 016, 029/031/032/058/070
	// (deleted VMs) and 040 (ids the provider never issued).
	assert.Equal(t, []string{"CORE-016", "CORE-029", "CORE-031", "CORE-032", "CORE-040", "CORE-058", "CORE-070"}, failed)
	writeFile(t, filepath.Join(dir, "known-failing.txt"), "# Describe answers NotFound\n"+strings.Join(failed, "\n")+"\n")
	cfg, err := os.ReadFile(filepath.Join(dir, project.ConfigFile))
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, project.ConfigFile), strings.Replace(string(cfg), "tests:\n", "tests:\n  known_failing: known-failing.txt\n", 1))
	out.Reset()
	oc, err = Run(t.Context(), Options{Dir: dir, Profile: "core", Out: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, ExitPartial, oc.ExitCode, out.String())
	assert.True(t, strings.HasPrefix(oc.Verdict, "PARTIAL: provider-acme is not fully conformant"), oc.Verdict)
}

func TestVerifyReportsAProviderThatCannotStart(t *testing.T) {
	dir := generated(t, func(dir string) {
		replaceIn(t, filepath.Join(dir, "cmd/provider-acme/main.go"),
			"\tp := provider.New(",
			"\tif os.Getenv(\"ACME_HYPERVISOR\") == \"\" {\n\t\tfmt.Fprintln(stderr, \"ACME_HYPERVISOR is not set\")\n\t\treturn 1\n\t}\n\tp := provider.New(")
	})
	var out bytes.Buffer
	oc, err := Run(t.Context(), Options{Dir: dir, Out: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, ExitFail, oc.ExitCode)
	assert.Contains(t, oc.Verdict, "FAIL: provider-acme could not be tested")
	assert.Contains(t, out.String(), "ACME_HYPERVISOR is not set")
	assert.Contains(t, oc.Report.Problems[0], "exited before it was SERVING")
	providerGone(t, oc.Report)
}
