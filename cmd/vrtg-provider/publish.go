package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/internal/cli"
	"github.com/vctsio/vcts/scaffold/publish"
)

func newPublishCmd() *cobra.Command {
	var o publish.Options
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Write the catalog entry and badge from a real results.json, and prepare the pull request",
		Long: `Publish a verified provider to the VirtRigaud provider catalog, from the results.json of a
conformance run (vrtg-provider verify writes reports/results.json).

publish refuses when the results are missing or unreadable, when the core profile did not
pass, or when they are for another provider name or image than --name and --image (the
image the results record is catalog.image of vcts-config.yaml, or the container image the
suite ran). It then adds or updates the entry in --catalog, writes the badge to
badges/NAME.svg beside it, and validates the catalog against the schema.

With --catalog-repo (a git checkout of the catalog repository) it creates the branch
add-provider-NAME-TAG, commits the entry and the badge, and prints the push and
'gh pr create' commands. It never uses the network.`,
		Example: `  vrtg-provider publish --name file --image ghcr.io/acme/provider-file --tag 0.1.0 \
    --repo https://github.com/acme/provider-file --maintainer dev@acme.example --license Apache-2.0 \
    --catalog-repo ../virtrigaud`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = cmd.OutOrStdout()
			_, err := publish.Run(cmd.Context(), o)
			var ue *publish.UsageError
			if errors.As(err, &ue) {
				return cli.Usage(err)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Name, "name", "", "provider name, as recorded in results.json (required)")
	fs.StringVar(&o.Image, "image", "", "image repository without tag, as recorded in results.json (required)")
	fs.StringVar(&o.Tag, "tag", "", "image tag to publish (required)")
	fs.StringVar(&o.Repo, "repo", "", "source repository URL (required)")
	fs.StringVar(&o.Maintainer, "maintainer", "", "maintainer e-mail address (required)")
	fs.StringVar(&o.License, "license", "", "SPDX license expression, e.g. Apache-2.0 (required)")
	fs.StringVar(&o.DisplayName, "display-name", "", "display name (default: catalog.displayName, else \"<Name> Provider\")")
	fs.StringVar(&o.Description, "description", "", "one-sentence description (default: catalog.description)")
	fs.StringVar(&o.Maturity, "maturity", "", "alpha, beta, stable or deprecated (default: catalog.maturity)")
	fs.StringSliceVar(&o.Tags, "tags", nil, "lower-case tags, comma-separated (default: catalog.tags)")
	fs.StringVar(&o.Documentation, "documentation", "", "documentation URL (default: catalog.documentation)")
	fs.StringVar(&o.Results, "results", publish.DefaultResults, "results.json of the conformance run")
	fs.StringVar(&o.Catalog, "catalog", "", "catalog file to create or update (default: providers/catalog.yaml in --catalog-repo, else catalog.yaml)")
	fs.StringVar(&o.CatalogRepo, "catalog-repo", "", "git checkout of the catalog repository: commit on a new branch and print the PR command")
	fs.StringVar(&o.ReportURL, "report-url", "", "URL of the published conformance report (e.g. the CI run)")
	fs.StringVar(&o.BadgeURL, "badge-url", "", "badge URL for the entry (default: the shields.io badge of the verdict)")
	return cmd
}
