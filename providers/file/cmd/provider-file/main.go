// Command provider-file serves the reference file provider: VMs kept as JSON files, reachable
// over the VirtRigaud v1 wire protocol and the tutorial's typed API on one gRPC port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/internal/version"
	"github.com/vctsio/vcts/providers/file"
	"github.com/vctsio/vcts/providers/kit"
)

// Environment variables of the file provider's own flags (the kit documents the others).
const (
	EnvStorageDir      = "PROVIDER_STORAGE_DIR"
	EnvTransitionDelay = "PROVIDER_TRANSITION_DELAY"
)

// DefaultStorageDir is where the image keeps its volume.
const DefaultStorageDir = "/var/lib/virtrigaud/vms"

// Exit codes: usage errors differ from failures at run time so scripts can tell them apart.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("provider-file", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := kit.BindFlags(fs, lookupEnv)
	storageDir := flags.String("storage-dir", EnvStorageDir, DefaultStorageDir, "directory holding one JSON file per VM")
	delay := flags.Duration("transition-delay", EnvTransitionDelay, 0,
		"how long simulated transitions (Creating→Running, Rebooting→Running) take; 0 is immediate")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: provider-file [flags]\n\n"+
			"Serves the reference VirtRigaud file provider (provider.v1.Provider and\n"+
			"virtrigaud.tutorial.v1.ProviderService) with health, reflection and metrics.\n"+
			"A flag beats its environment variable, which beats the default.\n\nFlags:\n")
		fs.PrintDefaults()
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package already printed the problem and the usage
	}
	if *showVersion {
		fmt.Fprintf(stdout, "provider-file %s (vcts spec %s)\n", version.Version, version.SpecVersion)
		return exitOK
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Errorf("unexpected arguments %q: provider-file takes flags only", fs.Args()))
	}
	opts, err := flags.Options("file", stderr)
	if err != nil {
		return usageError(stderr, err)
	}
	if *storageDir == "" {
		return usageError(stderr, fmt.Errorf("--storage-dir is empty (env %s): give the directory for the VM files", EnvStorageDir))
	}
	if *delay < 0 {
		return usageError(stderr, fmt.Errorf("--transition-delay %s is negative (env %s): use 0 or more, e.g. 2s", *delay, EnvTransitionDelay))
	}

	log := opts.Logger
	if err := kit.CheckTransport(opts); err != nil {
		// Before the storage directory is made or locked: a provider that cannot serve
		// leaves nothing behind.
		log.Error("cannot start", "error", err.Error())
		return exitFailure
	}
	log.Info("starting provider-file", "version", version.Version, "spec_version", version.SpecVersion,
		"storage_dir", *storageDir, "transition_delay", delay.String())
	opts.Registry = prometheus.NewRegistry()
	provider, err := file.New(file.Config{
		StorageDir:      *storageDir,
		TransitionDelay: *delay,
		Logger:          log,
		Registerer:      opts.Registry,
	})
	if err != nil {
		log.Error("cannot start: the storage directory is unusable", "storage_dir", *storageDir, "error", err.Error())
		return exitFailure
	}
	defer provider.Close()
	opts.Ready = provider.Ready

	server, err := kit.Listen(opts, func(s *grpc.Server) { provider.Register(s) })
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return exitFailure
	}
	if err := server.Serve(ctx); err != nil {
		log.Error("provider-file stopped with an error", "error", err.Error())
		return exitFailure
	}
	return exitOK
}

func usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "provider-file: %v\nRun provider-file -h for the flags.\n", err)
	return exitUsage
}
