package runner

import (
	"strings"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
)

// recordProvider fills provider.image and provider.version. What the target ran beats
// what the configuration declares: a container target's image is the image tested,
// whatever catalog.image says. Targets that run no image (endpoint, process, a caller's
// connection) leave the configuration's word, which is what `vrtg-provider publish` checks
// against.
func recordProvider(p *results.Provider, cfg config.File, info *target.Info) {
	p.Image = declaredImage(cfg)
	if info == nil {
		return
	}
	if info.Image != "" {
		p.Image = info.Image
	}
	p.Version = info.Version
}

// declaredImage is the image the configuration names for the provider under test:
// catalog.image (with catalog.tag, when set), else target.image when the target runs it (the
// container target; the process target runs a binary, whatever target.image says).
func declaredImage(cfg config.File) string {
	if cfg.Catalog.Image != "" {
		return withTag(cfg.Catalog.Image, cfg.Catalog.Tag)
	}
	if cfg.Target.Kind == config.TargetContainer {
		return cfg.Target.Image
	}
	return ""
}

// withTag sets the tag of an image reference (repo[:tag][@digest]); a colon before the
// last slash belongs to a registry port, not a tag.
func withTag(ref, tag string) string {
	if tag == "" {
		return ref
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if colon := strings.LastIndex(name, ":"); colon > strings.LastIndex(name, "/") {
		name = name[:colon]
	}
	ref = name + ":" + tag
	if hasDigest {
		ref += "@" + digest
	}
	return ref
}
