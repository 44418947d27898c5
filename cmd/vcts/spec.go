package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/cli"
	"github.com/vctsio/vcts/internal/version"
)

func newSpecCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "spec",
		Short: "Print the conformance specification (Markdown, generated from the feature files)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reqs, err := features.Requirements()
			if err != nil {
				return cli.Exit(1, err)
			}
			_, err = cmd.OutOrStdout().Write(features.Markdown(reqs, version.SpecVersion))
			return err
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vcts version, the specification version and the Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Printf("vcts %s\nspec %s\nresults %s\n%s\n", version.Version, version.SpecVersion, results.APIVersion, runtime.Version())
		},
	}
}
