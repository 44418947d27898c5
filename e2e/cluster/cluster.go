// Package cluster creates and deletes a single-node kind cluster through kind's Go library and
// loads locally built images into its node, so nothing is ever pulled from a registry.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// DefaultNodeImage is the standard node image of the pinned kind release.
const DefaultNodeImage = defaults.Image

// Config says which cluster to create.
type Config struct {
	Name string
	// NodeImage is the kind node image (e.g. kindest/node:...); empty means DefaultNodeImage.
	NodeImage string
	// Dir receives the kubeconfig.
	Dir string
	// WaitReady bounds how long Create waits for the control plane.
	WaitReady time.Duration
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Cluster is a running kind cluster.
type Cluster struct {
	cfg        Config
	provider   *cluster.Provider
	kubeconfig string
}

// Create creates the cluster. A cluster of the same name left behind by an earlier run
// (E2E_KEEP, a crash) is deleted first, since kind cannot create over it.
func Create(cfg Config) (*Cluster, error) {
	c, exists, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if exists {
		c.cfg.Logf("deleting the kind cluster %q left by an earlier run", c.cfg.Name)
		if err := c.provider.Delete(c.cfg.Name, c.kubeconfig); err != nil {
			return nil, fmt.Errorf("deleting stale kind cluster %q: %w", c.cfg.Name, err)
		}
	}
	if err := c.create(); err != nil {
		return nil, err
	}
	return c, nil
}

// Use returns the cluster of that name when it exists, writing its kubeconfig into
// cfg.Dir, and creates it otherwise; reused says which. A kept cluster (E2E_KEEP) then
// saves the minute a new one costs.
func Use(cfg Config) (c *Cluster, reused bool, err error) {
	c, exists, err := prepare(cfg)
	if err != nil {
		return nil, false, err
	}
	if !exists {
		if err := c.create(); err != nil {
			return nil, false, err
		}
		return c, false, nil
	}
	c.cfg.Logf("using the existing kind cluster %q", c.cfg.Name)
	if err := c.provider.ExportKubeConfig(c.cfg.Name, c.kubeconfig, false); err != nil {
		return nil, false, fmt.Errorf("kubeconfig of kind cluster %q: %w", c.cfg.Name, err)
	}
	return c, true, nil
}

// prepare fills the defaults and says whether a cluster of that name exists.
func prepare(cfg Config) (*Cluster, bool, error) {
	if cfg.Name == "" {
		return nil, false, errors.New("cluster name is empty")
	}
	if cfg.NodeImage == "" {
		cfg.NodeImage = DefaultNodeImage
	}
	if cfg.WaitReady == 0 {
		cfg.WaitReady = 3 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &Cluster{
		cfg:        cfg,
		provider:   cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{cfg.Logf})),
		kubeconfig: filepath.Join(cfg.Dir, "kubeconfig"),
	}
	existing, err := c.provider.List()
	if err != nil {
		return nil, false, fmt.Errorf("listing kind clusters (is Docker running?): %w", err)
	}
	return c, slices.Contains(existing, cfg.Name), nil
}

func (c *Cluster) create() error {
	cfg := c.cfg
	cfg.Logf("creating kind cluster %q with node image %s", cfg.Name, cfg.NodeImage)
	err := c.provider.Create(cfg.Name,
		cluster.CreateWithNodeImage(cfg.NodeImage),
		cluster.CreateWithWaitForReady(cfg.WaitReady),
		cluster.CreateWithKubeconfigPath(c.kubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		// A failed create can leave the node container behind.
		_ = c.provider.Delete(cfg.Name, c.kubeconfig)
		return fmt.Errorf("creating kind cluster %q from %s: %w", cfg.Name, cfg.NodeImage, err)
	}
	return nil
}

// Kubeconfig is the path of the cluster's kubeconfig (the API server on 127.0.0.1).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// LoadImages copies local Docker images into every node (`kind load docker-image`), so pods
// can use them with imagePullPolicy Never or IfNotPresent. A node that already holds the
// image under that name with the same ID (a reused cluster) is skipped.
func (c *Cluster) LoadImages(ctx context.Context, images ...string) error {
	nodes, err := c.provider.ListInternalNodes(c.cfg.Name)
	if err != nil {
		return fmt.Errorf("listing nodes of %q: %w", c.cfg.Name, err)
	}
	for _, image := range images {
		out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
		if err != nil {
			return fmt.Errorf("image %s is not in the local Docker engine (build it first: make build docker-build, "+
				"docker build -f cmd/vcts/Dockerfile ...): %w", image, err)
		}
		id := strings.TrimSpace(string(out))
		for _, node := range nodes {
			if have, err := nodeutils.ImageID(node, image); err == nil && have == id {
				c.cfg.Logf("image %s is on node %s already", image, node.String())
				continue
			}
			if err := loadImage(ctx, image, func(r io.Reader) error { return nodeutils.LoadImageArchive(node, r) }); err != nil {
				return fmt.Errorf("loading %s into node %s: %w", image, node.String(), err)
			}
		}
	}
	return nil
}

// loadImage streams `docker save image` into load.
func loadImage(ctx context.Context, image string, load func(io.Reader) error) error {
	save := exec.CommandContext(ctx, "docker", "save", image)
	var stderr strings.Builder
	save.Stderr = &stderr
	archive, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	if err := save.Start(); err != nil {
		return fmt.Errorf("docker save: %w", err)
	}
	loadErr := load(archive)
	// Drain what load left unread so docker save can finish.
	_, _ = io.Copy(io.Discard, archive)
	if err := save.Wait(); err != nil {
		return fmt.Errorf("docker save: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return loadErr
}

// CollectLogs writes the node's logs (kubelet, containerd, pods) into dir, like `kind export logs`.
func (c *Cluster) CollectLogs(dir string) error {
	return c.provider.CollectLogs(c.cfg.Name, dir)
}

// Delete deletes the cluster and its kubeconfig entry.
func (c *Cluster) Delete() error {
	if err := c.provider.Delete(c.cfg.Name, c.kubeconfig); err != nil {
		return fmt.Errorf("deleting kind cluster %q: %w", c.cfg.Name, err)
	}
	return nil
}
