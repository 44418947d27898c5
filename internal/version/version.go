// Package version carries the build version, stamped by the Makefile with -ldflags.
package version

// Version is the vcts release, "dev" for local builds.
var Version = "dev"

// SpecVersion is the version of the published conformance specification (the feature files).
// Bump it whenever a requirement is added, removed or changes meaning.
const SpecVersion = "1.5.0"
