package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/cli"
)

func newReportCmd() *cobra.Command {
	var resultsPath, dir string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Re-render the reports, badge and catalog entry from a results.json",
		Long: `Re-render every report (JUnit, HTML, Markdown, results.json, badge, catalog entry) from a
results.json, e.g. in a later CI step or for vrtg-provider publish. The cucumber JSON is
godog's output of the run itself and is not re-rendered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if resultsPath == "" {
				return cli.Exit(2, fmt.Errorf("--results is required"))
			}
			rep, err := results.Load(resultsPath)
			if err != nil {
				return cli.Exit(2, err)
			}
			files, err := report.WriteAll(dir, rep, nil)
			if err != nil {
				return cli.Exit(1, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, report.Headline(rep))
			for _, f := range files {
				fmt.Fprintf(out, "wrote %s\n", f)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&resultsPath, "results", "", "results.json written by vcts run")
	cmd.Flags().StringVar(&dir, "report-dir", "reports", "directory for the reports")
	return cmd
}
