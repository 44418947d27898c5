// Package e2e holds the vcts end-to-end runs that need more than a Go test binary.
//
// TestKindEndToEnd (kind_test.go) creates a kind cluster, loads the locally built provider and
// vcts images into it, installs charts/provider-file with the Helm SDK, runs the conformance
// suite from outside through a port-forward and from inside with `helm test`, saves pod logs
// and events when anything fails, and deletes the cluster. It runs only with E2E_KIND=1
// (`make e2e-kind`); otherwise it skips with the reason.
//
// The module is separate from the root module so that the Kubernetes, Helm and kind
// dependencies stay out of the conformance kit itself.
package e2e
