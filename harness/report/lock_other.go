//go:build !unix

package report

// lockDir does nothing where advisory locks are not available.
func lockDir(string) (func(), error) { return func() {}, nil }
