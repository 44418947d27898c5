package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

func TestBinaryStopsGracefullyOnSIGTERM(t *testing.T) {
	p := startProvider(t, filepath.Join(t.TempDir(), "vms"))
	c := p.dial(t)
	_, err := c.v1.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.NoError(t, err)

	require.NoError(t, p.terminate(t), "exit status after SIGTERM:\n%s", p.logs)
	require.Len(t, p.logs.withMsg("shutting down"), 1)
	assert.Equal(t, "terminated signal received", p.logs.withMsg("shutting down")[0]["reason"])
	assert.Len(t, p.logs.withMsg("stopped"), 1)
}

// TestCorruptFileIsDetectedAtRestart shows that the signals the crash test relies on are real:
// a VM file cut short (what a non-atomic write would leave behind) shows up in the log and the
// skipped-files metric, and the VM is not served.
func TestCorruptFileIsDetectedAtRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vms")
	p := startProvider(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := p.dial(t).v1.Create(ctx, &providerv1.CreateRequest{Name: "victim", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	p.kill9(t)

	path := filepath.Join(dir, resp.GetId()+".json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data[:len(data)/2], 0o600))

	p = startProvider(t, dir)
	assert.Len(t, p.logs.withMsg(skipLogMsg), 1)
	v, ok := p.metric(t, "provider_file_skipped_files_total", `reason="corrupt"`)
	require.True(t, ok)
	assert.Equal(t, 1.0, v)
	list, err := p.dial(t).v1.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	assert.Empty(t, list.GetVms())
}
