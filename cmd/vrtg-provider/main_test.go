package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provider-acme")
	code, out, errOut := run(t, "init", "acme", "--dir", dir, "--module", "example.com/acme/provider-acme")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Wrote provider-acme to "+dir)
	assert.Contains(t, out, "  internal/provider/provider.go\n")
	assert.Contains(t, out, "vrtg-provider verify --profile all")
	assert.Contains(t, errOut, "warning: this vrtg-provider is a development build")
	assert.FileExists(t, filepath.Join(dir, "cmd", "provider-acme", "main.go"))

	// Again: every file exists now, and nothing is overwritten without --force.
	// The file list is the first paragraph of the output, after its heading line.
	written := len(strings.Split(strings.SplitN(out, "\n\n", 2)[0], "\n")) - 1
	require.Greater(t, written, 15, out)
	code, _, errOut = run(t, "init", "acme", "--dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, fmt.Sprintf("refusing to overwrite %d existing file(s)", written), "every file it wrote")
	assert.Contains(t, errOut, "\n  vcts-config.yaml")

	code, out, _ = run(t, "init", "acme", "--dir", dir, "--force")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "  go.mod (overwritten)\n")
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", "Bad_Name", "--dir", t.TempDir()}, `provider name "Bad_Name" is not valid`},
		{[]string{"init"}, "takes exactly one NAME, got 0"},
		{[]string{"init", "a-b", "c-d"}, "takes exactly one NAME, got 2"},
		{[]string{"init", "acme", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"verify", "--dir", t.TempDir()}, "is not a provider project"},
		{[]string{"verify", "--profile", "most"}, `--profile: want core, snapshot, clone or all, got "most"`},
		{[]string{"verify", "extra"}, "takes flags only"},
		{[]string{"verify", "--start-timeout", "0s"}, "--start-timeout must be positive, got 0s"},
		{[]string{"verify", "--start-timeout", "-1h"}, "--start-timeout must be positive, got -1h0m0s"},
		{[]string{"publish", "--name", "acme"}, "missing --image, --tag, --repo, --maintainer, --license"},
		{[]string{"frobnicate"}, `unknown command "frobnicate": use init, verify or publish`},
	} {
		code, _, errOut := run(t, tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, tc.args)
		hint := "Run 'vrtg-provider --help' for usage."
		if tc.args[0] != "frobnicate" {
			hint = "Run 'vrtg-provider " + tc.args[0] + " --help' for usage." // the subcommand's own flags
		}
		assert.Contains(t, errOut, hint, tc.args)
	}
}

func TestPublishRefusalExits1(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := run(t, "publish", "--name", "acme", "--image", "ghcr.io/acme/provider-acme", "--tag", "0.1.0",
		"--repo", "https://github.com/acme/provider-acme", "--maintainer", "dev@acme.example", "--license", "Apache-2.0",
		"--results", filepath.Join(dir, "missing.json"), "--catalog", filepath.Join(dir, "catalog.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "publish refused: no results at")
	assert.NoFileExists(t, filepath.Join(dir, "catalog.yaml"))
}

func TestHelpListsTheCommands(t *testing.T) {
	code, out, _ := run(t, "--help")
	assert.Equal(t, 0, code)
	for _, c := range []string{"init", "verify", "publish"} {
		assert.Contains(t, out, "\n  "+c+" ")
	}
	code, out, _ = run(t, "publish", "--help")
	assert.Equal(t, 0, code)
	for _, f := range []string{"--name", "--image", "--tag", "--repo", "--maintainer", "--license", "--catalog ", "--results", "--report-url", "--badge-url", "--catalog-repo"} {
		assert.Contains(t, out, f)
	}
	assert.True(t, strings.Contains(out, "never uses the network"))
}
