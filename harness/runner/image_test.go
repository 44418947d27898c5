package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
)

func TestWithTag(t *testing.T) {
	for _, c := range []struct{ ref, tag, want string }{
		{"ghcr.io/acme/provider-x", "", "ghcr.io/acme/provider-x"},
		{"ghcr.io/acme/provider-x", "v1.2.0", "ghcr.io/acme/provider-x:v1.2.0"},
		{"ghcr.io/acme/provider-x:v1.1.0", "v1.2.0", "ghcr.io/acme/provider-x:v1.2.0"},
		{"localhost:5000/provider-x", "v1", "localhost:5000/provider-x:v1"},
		{"localhost:5000/provider-x:old", "v1", "localhost:5000/provider-x:v1"},
		{"acme/provider-x@sha256:abc", "v1", "acme/provider-x:v1@sha256:abc"},
		{"acme/provider-x:v0@sha256:abc", "v1", "acme/provider-x:v1@sha256:abc"},
	} {
		assert.Equal(t, c.want, withTag(c.ref, c.tag), "%s + %s", c.ref, c.tag)
	}
}

func TestRecordProvider(t *testing.T) {
	declared := config.File{
		Target:  config.Target{Image: "acme/provider-x:dev"},
		Catalog: config.Catalog{Image: "ghcr.io/acme/provider-x", Tag: "v1.2.0"},
	}
	for _, c := range []struct {
		name        string
		cfg         config.File
		info        *target.Info
		image, vers string
	}{
		{"nothing known", config.File{}, &target.Info{Kind: "endpoint"}, "", ""},
		{"catalog.image with catalog.tag", declared, nil, "ghcr.io/acme/provider-x:v1.2.0", ""},
		{"target.image of the container target", config.File{Target: config.Target{Kind: config.TargetContainer, Image: "acme/provider-x:dev"}}, nil, "acme/provider-x:dev", ""},
		{"target.image the process target does not run", config.File{Target: config.Target{Kind: config.TargetProcess, Image: "acme/provider-x:dev"}}, nil, "", ""},
		{"an endpoint keeps the declared image", declared, &target.Info{Kind: "endpoint"}, "ghcr.io/acme/provider-x:v1.2.0", ""},
		{"the image the target ran wins", declared, &target.Info{Kind: "container", Image: "local/x:test", Version: "v9"}, "local/x:test", "v9"},
		{"a process reports its version", config.File{}, &target.Info{Kind: "process", Version: "v0.3.0"}, "", "v0.3.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p results.Provider
			recordProvider(&p, c.cfg, c.info)
			assert.Equal(t, c.image, p.Image)
			assert.Equal(t, c.vers, p.Version)
		})
	}
}
