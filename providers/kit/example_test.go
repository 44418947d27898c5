package kit_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/kit"
)

// myProvider stands for a provider's implementation of the v1 wire protocol.
type myProvider struct {
	providerv1.UnimplementedProviderServer
}

// A whole provider main: standard flags plus one of its own, then Run until SIGTERM.
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	fs := flag.NewFlagSet("provider-example", flag.ExitOnError)
	flags := kit.BindFlags(fs, os.LookupEnv)
	endpoint := flags.String("hypervisor-url", "PROVIDER_HYPERVISOR_URL", "https://hv.example:8006", "hypervisor API")
	_ = fs.Parse(os.Args[1:])
	opts, err := flags.Options("example", os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	opts.Ready = func(ctx context.Context) error { return nil } // e.g. ping *endpoint
	_ = endpoint

	err = kit.Run(ctx, opts, func(s *grpc.Server) {
		providerv1.RegisterProviderServer(s, &myProvider{})
	})
	if err != nil {
		opts.Logger.Error("stopped", "error", err.Error())
		os.Exit(1)
	}
}
