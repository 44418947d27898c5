// Command vcts is the VirtRigaud conformance test suite: it runs the feature files against
// a provider and writes the reports. The logic lives in harness/; this is flags and output.
//
// Exit codes: 0 conformant (pass), 1 not conformant or the run could not be done,
// 2 bad flags or configuration, 3 partial (nothing failed unexpectedly, but not all ran
// and passed).
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
	os.Exit(execute(interruptible(), os.Args[1:], os.Stdout, os.Stderr))
}

// interruptible returns a context cancelled by the first Ctrl-C (or SIGTERM): the run then
// deletes what it created and stops the provider before exiting. A second Ctrl-C quits at
// once, for a provider that hangs even the cleanup.
func interruptible() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "\nvcts: interrupted — deleting the suite's VMs and stopping the provider (Ctrl-C again to quit at once)")
		cancel()
		<-sigs
		os.Exit(130)
	}()
	return ctx
}

// execute runs the CLI; separate from main so that tests drive it in-process.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Execute(ctx, newRoot(stdout, stderr), args, stderr, cli.CodeUsage)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vcts",
		Short: "VirtRigaud conformance test suite",
		Long: `vcts checks that a VirtRigaud provider keeps the provider contract: it runs the
conformance feature files (profiles core, snapshot and clone) against the provider over
gRPC and writes JUnit, cucumber JSON, HTML, Markdown, results.json, a badge and a catalog
entry.

Exit codes: 0 conformant, 1 not conformant (or the run failed), 2 bad flags or
configuration, 3 partial.`,
		// --version prints the first line of "vcts version".
		Version: version.Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(), newListCmd(), newSpecCmd(), newVersionCmd(), newReportCmd())
	return root
}
