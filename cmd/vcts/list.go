package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/runner"
	"github.com/vctsio/vcts/internal/cli"
)

func newListCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the requirements; with a provider, say which apply to it and why others don't",
		Long: `List the conformance requirements (ID, profile, rule).

With --endpoint, --target or --config the provider is asked for its capabilities and
every requirement is marked as applying to it or not, with the reason.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			probe := tf.configPath != "" || tf.o.Endpoint != "" || tf.o.Target != ""
			if !probe {
				// Without a provider the flags still mean what they say: --profile narrows
				// the list, and a bad --profile or --dialect is refused as in a run.
				if _, _, err := tf.resolve(); err != nil {
					return err
				}
				profiles, _ := config.ParseProfiles(tf.profile)
				reqs, err := features.Requirements()
				if err != nil {
					return cli.Exit(1, err)
				}
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tPROFILE\tNEEDS\tRULE")
				for _, r := range reqs {
					if slices.Contains(profiles, r.Profile) {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.ID, r.Profile, dash(strings.Join(r.Needs, ",")), r.Rule)
					}
				}
				return w.Flush()
			}
			cfg, profiles, err := tf.resolve()
			if err != nil {
				return err
			}
			p, err := runner.ProbeProvider(cmd.Context(), runner.Options{Config: cfg, Profiles: profiles})
			if err != nil {
				return cli.Exit(1, err)
			}
			fmt.Fprintf(out, "Provider: %s (%s target, %s dialect)\n", p.Endpoint, p.Target.Kind, cfg.Provider.Dialect)
			if p.CapabilitiesError != "" {
				fmt.Fprintf(out, "GetCapabilities failed: %s\n\n", p.CapabilitiesError)
			} else {
				fmt.Fprintf(out, "Capabilities: snapshots=%t clones=%t\n  %s\n\n", p.Capabilities.Snapshots, p.Capabilities.Clones, p.Capabilities.Raw)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tPROFILE\tAPPLIES\tRULE / WHY NOT")
			n := 0
			for _, a := range p.Requirements {
				what := a.Requirement.Rule
				applies := "yes"
				if !a.Applies {
					applies, what = "no", a.Reason
				} else {
					n++
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.Requirement.ID, a.Requirement.Profile, applies, what)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%d of %d requirements apply.\n", n, len(p.Requirements))
			return nil
		},
	}
	tf.bind(cmd.Flags())
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
