package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/console"
	"github.com/vctsio/vcts/harness/runner"
	"github.com/vctsio/vcts/internal/cli"
)

func newRunCmd() *cobra.Command {
	var tf targetFlags
	var reportDir string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the conformance suite against a provider",
		Long: `Run the conformance suite against a provider and write every report to --report-dir.

Without --config and --target it runs against the reference file provider on the
process target. Against any running provider that speaks the v1 wire protocol:

  vcts run --target endpoint --endpoint 127.0.0.1:9443 --profile all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Zero means "from the config file" internally; typed on the command line it is a mistake.
			if cmd.Flags().Changed("concurrency") && tf.o.Concurrency == 0 {
				return &config.Error{Source: "flags", Key: "--concurrency", Err: errors.New("must be positive, got 0")}
			}
			if cmd.Flags().Changed("timeout") && tf.o.Timeout == 0 {
				return &config.Error{Source: "flags", Key: "--timeout", Err: errors.New("must be positive, got 0s")}
			}
			if strings.TrimSpace(reportDir) == "" {
				return &config.Error{Source: "flags", Key: "--report-dir", Err: errors.New("is empty (an unset variable?); the reports need a directory")}
			}
			cfg, profiles, err := tf.resolve()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			level := slog.LevelWarn
			if tf.verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			res, runErr := runner.Run(cmd.Context(), runner.Options{
				Config: cfg, Profiles: profiles, ReportDir: reportDir, Progress: out, Log: log,
				OnStart: func() {
					fmt.Fprintf(out, "vcts: running %v against the %s target (%s dialect)\n", profiles, cfg.Target.Kind, cfg.Provider.Dialect)
				},
			})
			if res == nil {
				return runErr // configuration mistakes come back as *config.Error: exit 2
			}
			console.Summary(out, res.Report)
			if len(res.Files) > 0 {
				fmt.Fprintf(out, "\nReports in %s (report.html, junit.xml, results.json, ...)\n", reportDir)
			}
			if runErr != nil {
				var ce *config.Error
				if errors.As(runErr, &ce) {
					return cli.Exit(cli.CodeUsage, runErr) // a mistake of the configuration, found on the wire
				}
				if line, _, _ := strings.Cut(runErr.Error(), "\n"); slices.Contains(res.Report.Problems, line) {
					return cli.Exit(1, nil) // the summary has said it
				}
				return cli.Exit(1, runErr)
			}
			return cli.Exit(res.Report.ExitCode(), nil)
		},
	}
	tf.bind(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&tf.o.Tags, "tags", "", `godog tag expression narrowing the scenarios, e.g. "@CORE-001,@CORE-002" or "~@needs-tasks"`)
	fs.IntVar(&tf.o.Concurrency, "concurrency", 0, "scenarios run at once (default: tests.parallel, 4)")
	fs.StringVar(&tf.o.KnownFailing, "known-failing", "", "file of requirement IDs that must fail (one per line, # comments)")
	fs.StringVar(&tf.o.KnownFlaky, "known-flaky", "", "file of requirement IDs that may fail: a failure makes the run partial, not failed")
	fs.StringVar(&reportDir, "report-dir", "reports", "directory for the reports")
	fs.StringVar(&tf.o.UnknownVMID, "unknown-vm-id", "", "a well-formed id no VM has, in the provider's id format (default: one the suite creates and deletes)")
	fs.StringVar(&tf.o.UnknownTaskID, "unknown-task-id", "", "a well-formed id no task has, in the provider's task id format (default: a made-up one)")
	fs.Var(durationFlag{&tf.o.Timeout}, "timeout", "bound for the whole run, e.g. 10m (default: tests.timeout, 30m)")
	return cmd
}
