// Package deploy installs a chart into a cluster and runs its `helm test` hooks through the
// Helm Go SDK, as `helm install --wait` and `helm test --logs` would.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Helm acts on one namespace of one cluster.
type Helm struct {
	cfg       *action.Configuration
	namespace string
}

// New connects to the cluster of kubeconfig. Helm's debug lines (what it waits for) go to debug.
func New(kubeconfig, namespace string, debug io.Writer) (*Helm, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	flags.Namespace = &namespace
	cfg := &action.Configuration{}
	logf := func(format string, v ...any) { _, _ = fmt.Fprintf(debug, format+"\n", v...) }
	if err := cfg.Init(flags, namespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("helm configuration for %s: %w", kubeconfig, err)
	}
	return &Helm{cfg: cfg, namespace: namespace}, nil
}

// Install installs ch as release name (creating the namespace) and waits until its
// Deployments are available, i.e. their readiness probes pass.
func (h *Helm) Install(ctx context.Context, ch *chart.Chart, name string, vals map[string]any, timeout time.Duration) (*release.Release, error) {
	install := action.NewInstall(h.cfg)
	install.ReleaseName = name
	install.Namespace = h.namespace
	install.CreateNamespace = true
	install.Wait = true
	install.Timeout = timeout
	rel, err := install.RunWithContext(ctx, ch, vals)
	if err != nil {
		return rel, fmt.Errorf("helm install %s: %w", name, err)
	}
	return rel, nil
}

// Uninstall removes the release, as `helm uninstall --ignore-not-found` does. It does not
// wait for the pods to terminate: the API objects are gone when it returns, so the same
// release name can be installed again at once.
func (h *Helm) Uninstall(name string, timeout time.Duration) error {
	u := action.NewUninstall(h.cfg)
	u.IgnoreNotFound = true
	u.Timeout = timeout
	if _, err := u.Run(name); err != nil {
		return fmt.Errorf("helm uninstall %s: %w", name, err)
	}
	return nil
}

// Test runs the release's test hooks, writes their pod logs to logs (also when a test
// failed: that is when they are needed) and fails unless every test pod succeeded.
func (h *Helm) Test(name string, timeout time.Duration, logs io.Writer) error {
	rt := action.NewReleaseTesting(h.cfg)
	rt.Namespace = h.namespace
	rt.Timeout = timeout
	rel, runErr := rt.Run(name)
	if rel == nil {
		return fmt.Errorf("helm test %s: %w", name, runErr)
	}
	var logErr error
	if err := rt.GetPodLogs(logs, rel); err != nil {
		logErr = fmt.Errorf("reading test pod logs: %w", err)
	}
	if runErr != nil {
		return errors.Join(fmt.Errorf("helm test %s: %w", name, runErr), logErr)
	}

	ran := 0
	for _, hook := range rel.Hooks {
		if !isTest(hook) {
			continue
		}
		ran++
		if hook.LastRun.Phase != release.HookPhaseSucceeded {
			return fmt.Errorf("helm test %s: %s ended %s", name, hook.Name, hook.LastRun.Phase)
		}
	}
	if ran == 0 {
		return fmt.Errorf("helm test %s: the release has no test hook (tests.enabled=false?)", name)
	}
	return logErr
}

func isTest(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}
