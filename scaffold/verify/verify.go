// Package verify certifies a provider project (`vrtg-provider verify`): go build, go vet and
// go test, then it builds the provider binary, starts it on a free loopback port in
// plaintext, runs the vcts suite against it through the harness runner (endpoint target,
// the project's vcts-config.yaml for everything else), writes the reports and gives one
// verdict. The provider is stopped on every path.
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/console"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
	"github.com/vctsio/vcts/scaffold/project"
)

// Exit codes, as vcts uses them.
const (
	ExitPass    = 0
	ExitFail    = 1
	ExitUsage   = 2
	ExitPartial = 3
)

// Options describe one verification.
type Options struct {
	// Dir is the project root (default: the current directory).
	Dir string
	// Name picks the provider command when cmd/ holds several (cmd/provider-NAME).
	Name string
	// Profile is core, snapshot, clone, all or a comma list (default all).
	Profile string
	// ReportDir receives the reports (default DIR/reports).
	ReportDir string
	// Out receives the step log, the scenario progress and the summary.
	Out io.Writer
	// Log receives the harness's operational messages; nil discards them.
	Log *slog.Logger
	// Go is the go command (default: go from PATH).
	Go string
	// StartTimeout bounds waiting for the provider to be SERVING (default: the
	// configuration's target.start_timeout, else 30s).
	StartTimeout time.Duration
}

// Outcome is what a verification established.
type Outcome struct {
	// Report is the conformance run's report; nil when a step before the run failed.
	Report *results.Report
	// Files are the reports written.
	Files []string
	// ExitCode is 0 only when the provider is conformant for the requested profiles.
	ExitCode int
	// Verdict is the one-line conclusion printed last.
	Verdict string
}

// StepError is a step that failed (build, vet, tests, start); Output is what it printed.
type StepError struct {
	Step   string
	Output string
	Err    error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s failed: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Run verifies the project. A bad option or configuration is a *config.Error or an error
// wrapped in UsageError (exit 2); a failed step is a *StepError (exit 1). A completed
// conformance run is never an error: Outcome.ExitCode carries its verdict.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	profiles, err := config.ParseProfiles(o.Profile)
	if err != nil {
		return nil, err
	}
	p, err := project.Open(o.Dir, o.Name)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	cfg, notes, err := loadConfig(p)
	if err != nil {
		return nil, err
	}
	// Configuration mistakes are reported before minutes of building; the real endpoint is
	// only known once the provider is about to start.
	check := cfg
	check.Provider.Endpoint = "127.0.0.1:1"
	if err := check.Finalize(p.Dir); err != nil {
		return nil, withSource(err, p.ConfigPath())
	}
	if o.ReportDir == "" {
		o.ReportDir = filepath.Join(p.Dir, "reports")
	}
	goBin := o.Go
	if goBin == "" {
		if goBin, err = exec.LookPath("go"); err != nil {
			return nil, &StepError{Step: "find the go command", Err: err}
		}
	}

	fmt.Fprintf(out, "Verifying %s (%s) in %s\n", project.Command(p.Name), p.Module, p.Dir)
	for _, n := range notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	run := func(step string, args ...string) error { return goStep(ctx, out, p.Dir, goBin, step, args...) }
	if err := run("build", "build", "./..."); err != nil {
		var se *StepError
		if _, statErr := os.Stat(filepath.Join(p.Dir, "go.sum")); errors.Is(statErr, os.ErrNotExist) && errors.As(err, &se) {
			se.Err = fmt.Errorf("%w (the project has no go.sum yet: run `go mod tidy` in %s first)", se.Err, p.Dir)
		}
		return nil, err
	}
	if err := run("vet", "vet", "./..."); err != nil {
		return nil, err
	}
	if err := run("test", "test", "-count=1", "./..."); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "vrtg-provider-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, project.Command(p.Name))
	if err := run("build the provider binary", "build", "-o", bin, p.Package()); err != nil {
		return nil, err
	}

	addr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, &StepError{Step: "find a free port", Err: err}
	}
	cfg.Provider.Endpoint = addr
	if err := cfg.Finalize(p.Dir); err != nil {
		return nil, withSource(err, p.ConfigPath())
	}
	startTimeout := o.StartTimeout
	if startTimeout <= 0 {
		startTimeout = cfg.Target.StartTimeout.D()
	}
	launched := &Launched{Bin: bin, Addr: addr, StartTimeout: startTimeout}
	// The runner stops its target too; this covers every early return.
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = launched.Stop(stopCtx)
	}()

	fmt.Fprintf(out, "==> conformance: %s against %s on %s (%s dialect)\n", strings.Join(profiles, ", "), project.Command(p.Name), addr, cfg.Provider.Dialect)
	res, runErr := runner.Run(ctx, runner.Options{
		Config: cfg, Profiles: profiles, Target: launched, ReportDir: o.ReportDir, Progress: out, Log: o.Log,
	})
	if res == nil {
		var ce *config.Error
		if errors.As(runErr, &ce) {
			return nil, withSource(runErr, p.ConfigPath())
		}
		return nil, &StepError{Step: "conformance run", Err: runErr}
	}
	rep := res.Report
	console.Summary(out, rep)
	oc := &Outcome{Report: rep, Files: res.Files, ExitCode: rep.ExitCode()}
	if runErr != nil {
		oc.ExitCode = ExitFail
		if rep.ProviderLogs != "" {
			fmt.Fprintf(out, "\nThe provider's output:\n%s\n", tail(rep.ProviderLogs, 4000))
		}
	}
	if len(res.Files) > 0 {
		fmt.Fprintf(out, "\nReports in %s (results.json, report.html, junit.xml, badge.svg, ...)\n", o.ReportDir)
	}
	if ctx.Err() != nil && runErr == nil {
		runErr = errInterrupted
	}
	oc.Verdict = verdictLine(p, rep, runErr)
	fmt.Fprintf(out, "\n%s\n", oc.Verdict)
	return oc, nil
}

// UsageError is a problem with the options or the project layout (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// loadConfig reads the project's vcts-config.yaml when there is one and adapts it to a
// provider that verify starts itself: an endpoint on loopback, in plaintext.
func loadConfig(p project.Project) (config.File, []string, error) {
	cfg := config.Default()
	var notes []string
	path := p.ConfigPath()
	if _, err := os.Stat(path); err == nil {
		if cfg, err = config.Load(path); err != nil {
			return cfg, nil, err
		}
	} else {
		notes = append(notes, fmt.Sprintf("no %s: using the suite's defaults", project.ConfigFile))
	}
	if cfg.Provider.Name == "" {
		cfg.Provider.Name = p.Name
	}
	if e := cfg.Provider.Endpoint; e != "" {
		notes = append(notes, fmt.Sprintf("provider.endpoint %q is replaced: verify starts the provider it built on a free port of 127.0.0.1", e))
	}
	if cfg.Provider.TLS.Enabled {
		notes = append(notes, "provider.tls is ignored: verify runs the provider in plaintext on 127.0.0.1")
	}
	cfg.Provider.TLS = config.TLS{}
	if k := cfg.Target.Kind; k != "" && k != config.TargetEndpoint {
		notes = append(notes, fmt.Sprintf("target.kind %q is ignored: verify starts the provider it built and reaches it as an endpoint", k))
	}
	cfg.Target = config.Target{Kind: config.TargetEndpoint, StartTimeout: cfg.Target.StartTimeout}
	if cfg.Target.StartTimeout == 0 {
		cfg.Target.StartTimeout = config.Duration(30 * time.Second)
	}
	return cfg, notes, nil
}

func withSource(err error, path string) error {
	var ce *config.Error
	if errors.As(err, &ce) && ce.Source == "" {
		ce.Source = path
	}
	return err
}

// goStep runs one go command in the project, printing its name and, on failure, its output.
func goStep(ctx context.Context, out io.Writer, dir, goBin, step string, args ...string) error {
	fmt.Fprintf(out, "==> %s: go %s\n", step, strings.Join(args, " "))
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	if os.Getenv("GOWORK") == "" && project.EnclosingWorkspace(dir) != "" {
		// A go.work above the project (a vcts checkout, say) would build the workspace's
		// modules instead; the project builds from its own go.mod, as its Makefile does.
		cmd.Env = append(os.Environ(), "GOWORK=off")
	}
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	took := time.Since(start).Round(10 * time.Millisecond)
	output := strings.TrimRight(buf.String(), "\n")
	if err != nil {
		if output != "" {
			fmt.Fprintln(out, indent(tail(output, 16000)))
		}
		fmt.Fprintf(out, "    ✗ %s failed after %s\n", step, took)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &StepError{Step: "go " + strings.Join(args, " "), Output: output, Err: err}
	}
	if step == "test" && output != "" {
		fmt.Fprintln(out, indent(output))
	}
	fmt.Fprintf(out, "    ✓ %s\n", took)
	return nil
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// errInterrupted marks a run that Ctrl-C (or the caller's context) stopped.
var errInterrupted = errors.New("interrupted")

// verdictLine is the one verdict verify gives: for the profiles that were requested.
func verdictLine(p project.Project, r *results.Report, runErr error) string {
	name := project.Command(p.Name)
	var parts []string
	for _, pr := range r.Profiles {
		s := pr.Name + " " + string(pr.Verdict)
		if pr.Verdict == results.VerdictSkip {
			s += " (" + skipWhy(pr.Reason) + ")"
		}
		parts = append(parts, s)
	}
	profiles := strings.Join(parts, ", ")
	switch {
	case errors.Is(runErr, errInterrupted):
		return fmt.Sprintf("STOPPED: %s was not fully tested: the run was interrupted (%s)", name, profiles)
	case runErr != nil:
		return fmt.Sprintf("FAIL: %s could not be tested: %v", name, firstLine(runErr.Error()))
	case r.Verdict == results.VerdictPass:
		return fmt.Sprintf("PASS: %s is conformant (%s)", name, profiles)
	case r.Verdict == results.VerdictPartial:
		return fmt.Sprintf("PARTIAL: %s is not fully conformant: nothing failed, but not everything ran and passed (%s)", name, profiles)
	}
	return fmt.Sprintf("FAIL: %s is not conformant (%s)", name, profiles)
}

func skipWhy(reason string) string {
	switch {
	case strings.HasPrefix(reason, "the provider does not offer"):
		return "not offered"
	case strings.HasPrefix(reason, "disabled in the configuration"):
		return "disabled in the configuration"
	}
	return firstLine(reason)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// ExitCodeOf maps a Run error to the CLI's exit code.
func ExitCodeOf(err error) int {
	var ue *UsageError
	var ce *config.Error
	switch {
	case err == nil:
		return ExitPass
	case errors.As(err, &ue), errors.As(err, &ce):
		return ExitUsage
	}
	return ExitFail
}
