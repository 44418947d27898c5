package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/internal/cli"
	"github.com/vctsio/vcts/scaffold/initproject"
)

func newInitCmd() *cobra.Command {
	var o initproject.Options
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Write a new provider project",
		Long: `Write a provider project for NAME into --dir (default: the current directory):
cmd/provider-NAME/{main.go,Dockerfile}, internal/provider/{provider.go,capabilities.go,
provider_test.go}, charts/provider-NAME/, .github/workflows/ci.yml, Makefile, go.mod,
.gitignore, README.md and vcts-config.yaml.

The provider keeps VMs in memory and passes vcts core conformance as generated; replace
its TODO(hypervisor) parts with calls to your hypervisor. Existing files are never
overwritten without --force.`,
		Example: `  vrtg-provider init file
  vrtg-provider init proxmox --dir provider-proxmox --module github.com/acme/provider-proxmox --image ghcr.io/acme/provider-proxmox`,
		Args: exactArgs(1, "exactly one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			res, err := initproject.Generate(o)
			var ue *initproject.UsageError
			if errors.As(err, &ue) {
				return cli.Usage(err)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Wrote provider-%s to %s:\n", o.Name, res.Dir)
			overwritten := map[string]bool{}
			for _, f := range res.Overwritten {
				overwritten[f] = true
			}
			for _, f := range res.Files {
				note := ""
				if overwritten[f] {
					note = " (overwritten)"
				}
				fmt.Fprintf(out, "  %s%s\n", f, note)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			dir := res.Dir
			if wd, err := os.Getwd(); err == nil {
				if rel, err := filepath.Rel(wd, res.Dir); err == nil && !strings.HasPrefix(rel, "..") {
					dir = rel
				}
			}
			fmt.Fprintf(out, "\nNext:\n")
			if dir != "." {
				fmt.Fprintf(out, "  cd %s\n", dir)
			}
			if res.InWorkspace != "" {
				fmt.Fprintf(out, "  GOWORK=off go mod tidy\n")
			} else {
				fmt.Fprintf(out, "  go mod tidy\n")
			}
			fmt.Fprintf(out, "  make test\n  vrtg-provider verify --profile all\n")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Dir, "dir", ".", "directory to write the project into (created if missing)")
	fs.StringVar(&o.Module, "module", "", "Go module path (default github.com/example/provider-NAME)")
	fs.StringVar(&o.Image, "image", "", "container image repository without tag (default ghcr.io/OWNER/REPO for a github.com/OWNER/REPO module, else ghcr.io/example/provider-NAME)")
	fs.BoolVar(&o.Force, "force", false, "overwrite files that already exist")
	fs.StringVar(&o.VCTSPath, "vcts-path", "", "local vcts checkout to use through a replace directive in go.mod (default for a development build: the checkout that holds the working directory)")
	fs.StringVar(&o.VCTSVersion, "vcts-version", "", "vcts module version to require (default: this vrtg-provider's release)")
	return cmd
}
