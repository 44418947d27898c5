package cluster

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDocker puts a docker stand-in first on PATH that answers `docker save IMAGE` with
// script's output and exit code.
func fakeDocker(t *testing.T, script string) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\n"+script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestLoadImageStreamsTheArchive(t *testing.T) {
	fakeDocker(t, `[ "$1" = save ] && [ "$2" = vcts/vcts:dev ] && printf 'archive-bytes'`)
	var got []byte
	err := loadImage(context.Background(), "vcts/vcts:dev", func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, "archive-bytes", string(got))
}

func TestLoadImageReportsBothFailures(t *testing.T) {
	fakeDocker(t, `echo "no such image: $2" >&2; exit 1`)
	err := loadImage(context.Background(), "missing:dev", func(r io.Reader) error {
		_, _ = io.ReadAll(r)
		return nil
	})
	assert.ErrorContains(t, err, "no such image: missing:dev")

	fakeDocker(t, `printf 'archive-bytes'`)
	loadErr := errors.New("ctr import failed")
	err = loadImage(context.Background(), "vcts/vcts:dev", func(io.Reader) error { return loadErr })
	assert.ErrorIs(t, err, loadErr, "a load error is returned even when docker save succeeded")
}

func TestCreateNeedsAName(t *testing.T) {
	_, err := Create(Config{})
	assert.ErrorContains(t, err, "name is empty")
}

func TestUseNeedsAName(t *testing.T) {
	_, _, err := Use(Config{})
	assert.ErrorContains(t, err, "name is empty")
}
