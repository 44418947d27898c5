package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"file", "ab", "proxmox-ve", "hv2", "a" + strings.Repeat("b", 31)} {
		assert.NoError(t, ValidateName(ok), ok)
	}
	for _, tc := range []struct{ name, want string }{
		{"", "empty"},
		{"a", "not valid"},
		{"File", "not valid"},
		{"2fast", "not valid"},
		{"-x", "not valid"},
		{"x-", "not valid"},
		{"my_hv", "not valid"},
		{"my.hv", "not valid"},
		{"a" + strings.Repeat("b", 32), "not valid"},
		{"provider-file", `without the "provider-" prefix`},
		{"../evil", "not valid"},
	} {
		assert.ErrorContains(t, ValidateName(tc.name), tc.want, tc.name)
	}
}

func TestValidateModulePath(t *testing.T) {
	for _, ok := range []string{"github.com/acme/provider-x", "example.com/x/v2", "local/provider", "x"} {
		assert.NoError(t, ValidateModulePath(ok), ok)
	}
	for _, bad := range []string{"", "/abs", "trailing/", "a//b", "with space/x", `quote"d`, "a/../b"} {
		assert.Error(t, ValidateModulePath(bad), bad)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, "")
	assert.ErrorContains(t, err, "is not a provider project")

	write(t, filepath.Join(dir, "go.mod"), "// comment\nmodule \"example.com/p\" // x\n\ngo 1.26\n")
	_, err = Open(dir, "")
	assert.ErrorContains(t, err, "has no cmd/provider-NAME/main.go")

	write(t, filepath.Join(dir, "cmd", "provider-one", "main.go"), "package main")
	write(t, filepath.Join(dir, "cmd", "provider-nomain", "doc.go"), "package main") // no main.go: ignored
	write(t, filepath.Join(dir, "cmd", "tool", "main.go"), "package main")           // not provider-*: ignored
	p, err := Open(dir, "")
	require.NoError(t, err)
	assert.Equal(t, Project{Dir: dir, Module: "example.com/p", Name: "one"}, p)
	assert.Equal(t, "./cmd/provider-one", p.Package())
	assert.Equal(t, filepath.Join(dir, ConfigFile), p.ConfigPath())

	write(t, filepath.Join(dir, "cmd", "provider-two", "main.go"), "package main")
	_, err = Open(dir, "")
	assert.ErrorContains(t, err, "several provider commands (one, two): choose one with --name")
	p, err = Open(dir, "two")
	require.NoError(t, err)
	assert.Equal(t, "two", p.Name)
	_, err = Open(dir, "three")
	assert.ErrorContains(t, err, "no provider command cmd/provider-three/main.go")
	_, err = Open(dir, "Bad")
	assert.ErrorContains(t, err, "not valid")
}

func TestEnclosingWorkspace(t *testing.T) {
	root := t.TempDir()
	inner := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(inner, 0o755))
	assert.Empty(t, EnclosingWorkspace(inner))
	require.NoError(t, os.WriteFile(filepath.Join(inner, "go.work"), []byte("go 1.26\n"), 0o644))
	assert.Empty(t, EnclosingWorkspace(inner), "a go.work in the project itself is the author's own")
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26\nuse .\n"), 0o644))
	assert.Equal(t, filepath.Join(root, "go.work"), EnclosingWorkspace(inner))
}
