// Package e2e holds the vcts end-to-end runs that need more than a Go test binary.
//
// TestKindEndToEnd (kind_test.go) deploys charts/provider-file with the kind target
// (kindtarget: a kind cluster, the locally built provider and vcts images loaded into it, the
// chart installed with the Helm SDK, a port-forward on 127.0.0.1), runs the conformance suite
// from inside with `helm test` and from outside with runner.Run through the target, saves pod
// logs and events when anything fails, and deletes the cluster. It runs only with E2E_KIND=1
// (`make e2e-kind`); otherwise it skips with the reason.
//
// The module is separate from the root module so that the Kubernetes, Helm and kind
// dependencies stay out of the conformance kit itself.
package e2e
