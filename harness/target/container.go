package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/internal/child"
)

// DefaultContainerPort is the provider's gRPC port inside the container (the wire
// protocol's default).
const DefaultContainerPort = 9443

// Label marks every container vcts starts; its value is the run's container name.
const Label = "dev.vcts.target"

// LabelOwner is "<hostname>/<pid>" of the vcts process that started the container, so a
// later run can remove what a killed one could not.
const LabelOwner = "dev.vcts.owner"

// Container runs a provider image with testcontainers-go, publishes its gRPC port on
// 127.0.0.1 only, and always removes the container on Stop (Ryuk, testcontainers' own
// reaper, is disabled on machines like CI's, so removal is ours).
type Container struct {
	Image string
	// Port is the gRPC port inside the container (default 9443).
	Port         int
	StartTimeout time.Duration
	// Log receives testcontainers' progress messages at debug level; nil discards them.
	Log *slog.Logger

	mu       sync.Mutex
	ctr      *testcontainers.DockerContainer
	name     string
	endpoint string
	version  string
	logs     string
	stopped  bool
}

// LabelVersion is the OCI image label the container target reads the provider's version
// from.
const LabelVersion = "org.opencontainers.image.version"

// prepareTestcontainersEnv sets what testcontainers needs on this kind of machine, unless
// the user set it: no Ryuk (it cannot be pulled here) and the daemon's published ports
// reached on loopback. testcontainers reads its configuration once, so this runs before
// its first use.
func prepareTestcontainersEnv(log *slog.Logger) {
	// Its one-time banner goes through the package default logger, not WithLogger.
	tclog.SetDefault(tcLogger{log})
	for k, v := range map[string]string{
		"TESTCONTAINERS_RYUK_DISABLED": "true",
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
	} {
		if _, set := os.LookupEnv(k); !set {
			_ = os.Setenv(k, v)
		}
	}
}

// Start creates and starts the container and waits for grpc.health.v1 SERVING.
func (c *Container) Start(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prepareTestcontainersEnv(c.Log)
	if c.Image == "" {
		c.Image = config.DefaultImage
	}
	port := c.Port
	if port == 0 {
		port = DefaultContainerPort
	}
	timeout := c.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	reapOrphans(ctx, c.Log)
	c.name = "vcts-provider-" + uuid.NewString()[:8]
	ctrPort := network.MustParsePort(strconv.Itoa(port) + "/tcp")
	defer func() {
		if err != nil {
			_ = c.stopLocked(context.Background()) // the start error is the one to report
		}
	}()
	ctr, err := testcontainers.Run(ctx, c.Image,
		testcontainers.WithLogger(tcLogger{c.Log}),
		testcontainers.WithName(c.name),
		testcontainers.WithLabels(map[string]string{Label: c.name, LabelOwner: owner()}),
		testcontainers.WithExposedPorts(ctrPort.String()),
		testcontainers.WithEnv(map[string]string{"VIRTRIGAUD_PROVIDER_INSECURE": "true"}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{ctrPort: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}}
		}),
	)
	c.ctr = ctr // non-nil when the container exists even though starting failed
	if err != nil {
		return fmt.Errorf("container %s: %w (build the reference image with `make docker-build`)", c.Image, err)
	}
	mapped, err := ctr.MappedPort(ctx, ctrPort.String())
	if err != nil {
		return fmt.Errorf("container %s: published port: %w", c.name, err)
	}
	c.endpoint = net.JoinHostPort("127.0.0.1", mapped.Port())
	// The version is a courtesy for the report: an image without the label, or an
	// inspection that fails, leaves it unknown.
	if ins, err := ctr.Inspect(ctx); err == nil && ins.Config != nil {
		c.version = ins.Config.Labels[LabelVersion]
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := waitServing(wctx, c.endpoint, c.DialOptions(), nil); err != nil {
		if errors.Is(err, errNoHealth) {
			return nil
		}
		logs := c.fetchLogs(context.Background())
		return fmt.Errorf("container %s (%s): %w\n%s", c.name, c.Image, err, tail(logs, 2000))
	}
	return nil
}

// Endpoint is 127.0.0.1:<published port>.
func (c *Container) Endpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoint
}

// DialOptions: plaintext, on loopback.
func (c *Container) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}

// Info names the image and the container.
func (c *Container) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := ""
	if c.ctr != nil {
		id = c.ctr.GetContainerID()
		if len(id) > 12 {
			id = id[:12]
		}
	}
	return Info{Kind: config.TargetContainer, Mode: "testcontainers", Image: c.Image, Version: c.version,
		Detail: fmt.Sprintf("image %s, container %s %s, published on %s", c.Image, c.name, id, c.endpoint)}
}

// Logs returns the container's output: live while it runs, the final output after Stop.
func (c *Container) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.ctr == nil {
		return c.logs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.fetchLogs(ctx)
}

func (c *Container) fetchLogs(ctx context.Context) string {
	if c.ctr == nil {
		return ""
	}
	rc, err := c.ctr.Logs(ctx)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	defer rc.Close()
	buf := newLogBuffer(defaultLogMax)
	_, _ = io.Copy(buf, rc)
	return buf.String()
}

// Stop keeps the logs, then removes the container (forced, with its volumes). It uses its
// own deadline: the caller's context may already be cancelled by Ctrl-C, and the container
// must go regardless.
func (c *Container) Stop(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(context.Background())
}

func (c *Container) stopLocked(ctx context.Context) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	if c.ctr == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Stop first (SIGTERM, then SIGKILL after 5s), so that the logs end with the provider's
	// own shutdown; a failed stop still leaves the logs so far, and Terminate removes it anyway.
	grace := 5 * time.Second
	if err := c.ctr.Stop(ctx, &grace); err != nil && c.Log != nil {
		c.Log.Warn("stopping the provider container", "container", c.name, "error", err)
	}
	c.logs = c.fetchLogs(ctx)
	if err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(grace)); err != nil {
		return fmt.Errorf("remove container %s: %w", c.name, err)
	}
	return nil
}

// tcLogger forwards testcontainers' chatter to slog at debug level, off the console.
type tcLogger struct{ log *slog.Logger }

func (l tcLogger) Printf(format string, v ...any) {
	if l.log != nil {
		l.log.Debug(fmt.Sprintf(format, v...), "component", "testcontainers")
	}
}

func owner() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// reapOrphans removes the containers of vcts processes on this host that no longer exist:
// a vcts killed outright (SIGKILL, OOM) cannot remove its container, and Ryuk, which
// would, is disabled here. Containers of live processes and of other hosts sharing the
// daemon are left alone; any error just skips the sweep.
func reapOrphans(ctx context.Context, log *slog.Logger) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", Label)})
	if err != nil {
		return
	}
	host, _ := os.Hostname()
	for _, ctr := range list.Items {
		h, pidText, ok := strings.Cut(ctr.Labels[LabelOwner], "/")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || h != host || child.Alive(pid) {
			continue
		}
		_, err = cli.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if log != nil {
			log.Info("removed the container of a vcts process that no longer runs", "container", ctr.Names, "owner", ctr.Labels[LabelOwner], "error", err)
		}
	}
}
