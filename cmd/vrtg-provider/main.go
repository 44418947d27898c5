// Command vrtg-provider is the provider author's tool from VirtRigaud's provider tutorial:
// init writes a provider project that passes vcts core conformance as generated, verify
// builds, tests and certifies a project, and publish turns a real results.json into a
// catalog entry, a badge and a local pull-request branch. The logic lives in scaffold/.
//
// Exit codes: 0 success (conformant), 1 failure or refusal (not conformant, a step failed,
// publish refused), 2 bad flags or arguments, 3 partially conformant.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/internal/cli"
	"github.com/vctsio/vcts/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(execute(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the CLI; tests drive it in-process.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Execute(ctx, newRoot(stdout, stderr), args, stderr, cli.CodeFailure)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vrtg-provider",
		Short: "Create, verify and publish VirtRigaud providers",
		Long: `vrtg-provider follows VirtRigaud's provider tutorial:

  vrtg-provider init NAME              a provider project that passes vcts core as generated
  vrtg-provider verify --profile all   build, vet, test, start it and run the vcts suite
  vrtg-provider publish --name ...     catalog entry + badge from reports/results.json

Exit codes: 0 success, 1 failure or refusal, 2 bad flags, 3 partially conformant.`,
		Version: version.Version,
		// A runnable root turns an unknown command into a usage error (exit 2) instead of
		// cobra's generic error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usage(fmt.Errorf("unknown command %q: use init, verify or publish", args[0]))
			}
			return cmd.Help()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newInitCmd(), newVerifyCmd(), newPublishCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the vrtg-provider version (as --version does)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Printf("vrtg-provider %s (vcts spec %s)\n", version.Version, version.SpecVersion)
		},
	})
	return root
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return cli.Usage(fmt.Errorf("%s takes %s, got %d argument(s)", cmd.CommandPath(), what, len(args)))
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cli.Usage(fmt.Errorf("%s takes flags only, got %q", cmd.CommandPath(), args))
	}
	return nil
}
