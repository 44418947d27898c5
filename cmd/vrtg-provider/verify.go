package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/internal/cli"
	"github.com/vctsio/vcts/scaffold/verify"
)

func newVerifyCmd() *cobra.Command {
	var o verify.Options
	var verbose bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Build, vet, test, start the provider and run the vcts suite against it",
		Long: `In a provider project (--dir, default the current directory): go build, go vet and
go test; then build cmd/provider-NAME, start it on a free 127.0.0.1 port in plaintext, run
the vcts conformance suite against it with the project's vcts-config.yaml, print the
summary and one verdict, and write the reports (results.json, report.html, junit.xml,
badge.svg, catalog.yaml, ...) into --report-dir. The provider is always stopped.

Exit codes: 0 conformant for the requested profiles, 1 not conformant or a step failed,
2 bad flags or configuration, 3 partially conformant.`,
		Example: `  vrtg-provider verify --profile all
  vrtg-provider verify --dir ../provider-proxmox --profile core --report-dir /tmp/reports`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("start-timeout") && o.StartTimeout <= 0 {
				return cli.Usage(fmt.Errorf("--start-timeout must be positive, got %s", o.StartTimeout))
			}
			o.Out = cmd.OutOrStdout()
			if verbose {
				o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			oc, err := verify.Run(cmd.Context(), o)
			if err != nil {
				return cli.Exit(verify.ExitCodeOf(err), err)
			}
			if oc.ExitCode != 0 {
				return cli.Exit(oc.ExitCode, nil)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Profile, "profile", "all", "profiles: core, snapshot, clone or all (comma-separated list allowed)")
	fs.StringVar(&o.Dir, "dir", ".", "provider project directory")
	fs.StringVar(&o.ReportDir, "report-dir", "", "directory for the reports (default DIR/reports)")
	fs.StringVar(&o.Name, "name", "", "provider NAME when cmd/ holds several provider-NAME commands")
	fs.DurationVar(&o.StartTimeout, "start-timeout", 0, "how long to wait for the provider to serve (default: target.start_timeout, 30s)")
	fs.BoolVarP(&verbose, "verbose", "v", false, "log what the harness does on stderr")
	return cmd
}
