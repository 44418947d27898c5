package file

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

type clients struct {
	v1       providerv1.ProviderClient
	tutorial tutorialv1.ProviderServiceClient
}

func start(t *testing.T, cfg Config) (*Provider, clients) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	p, err := New(cfg)
	require.NoError(t, err)
	srv := grpc.NewServer()
	p.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		_ = p.Close()
	})
	return p, clients{v1: providerv1.NewProviderClient(conn), tutorial: tutorialv1.NewProviderServiceClient(conn)}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestBothAPIsShareVMs(t *testing.T) {
	_, c := start(t, Config{StorageDir: t.TempDir()})
	v1vm, err := c.v1.Create(ctx(t), &providerv1.CreateRequest{Name: "from-v1", ClassJson: `{"CPU":2,"MemoryMiB":2048}`})
	require.NoError(t, err)
	got, err := c.tutorial.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: v1vm.GetId()})
	require.NoError(t, err)
	require.Equal(t, "from-v1", got.GetName())
	require.EqualValues(t, 2, got.GetSpec().GetCpu())

	tvm, err := c.tutorial.CreateVM(ctx(t), &tutorialv1.CreateVMRequest{Name: "from-tutorial", Spec: &tutorialv1.VMSpec{Cpu: 4, Memory: 4096}})
	require.NoError(t, err)
	d, err := c.v1.Describe(ctx(t), &providerv1.DescribeRequest{Id: tvm.GetVmId()})
	require.NoError(t, err)
	require.True(t, d.GetExists())
	require.Equal(t, "On", d.GetPowerState())

	// Idempotency by name holds across APIs.
	same, err := c.tutorial.CreateVM(ctx(t), &tutorialv1.CreateVMRequest{Name: "from-v1", Spec: &tutorialv1.VMSpec{Cpu: 2, Memory: 2048}})
	require.NoError(t, err)
	require.Equal(t, v1vm.GetId(), same.GetVmId())

	_, err = c.tutorial.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: v1vm.GetId(), PowerOp: tutorialv1.PowerOp_POWER_OP_OFF})
	require.NoError(t, err)
	d, err = c.v1.Describe(ctx(t), &providerv1.DescribeRequest{Id: v1vm.GetId()})
	require.NoError(t, err)
	require.Equal(t, "Off", d.GetPowerState())

	list, err := c.v1.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetVms(), 2)
}

func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p, c := start(t, Config{StorageDir: dir})
	resp, err := c.v1.Create(ctx(t), &providerv1.CreateRequest{Name: "keep", ClassJson: `{"CPU":3,"MemoryMiB":3072}`})
	require.NoError(t, err)
	snap, err := c.v1.SnapshotCreate(ctx(t), &providerv1.SnapshotCreateRequest{VmId: resp.GetId()})
	require.NoError(t, err)
	require.NoError(t, p.Close())

	p2, c2 := start(t, Config{StorageDir: dir})
	require.Equal(t, 1, p2.VMCount())
	list, err := c2.v1.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetVms(), 1)
	require.Equal(t, resp.GetId(), list.GetVms()[0].GetId())
	require.EqualValues(t, 3, list.GetVms()[0].GetCpu())
	_, err = c2.v1.SnapshotRevert(ctx(t), &providerv1.SnapshotRevertRequest{VmId: resp.GetId(), SnapshotId: snap.GetSnapshotId()})
	require.NoError(t, err)
}

func TestTransitionDelayIsHonoured(t *testing.T) {
	const delay = 150 * time.Millisecond
	_, c := start(t, Config{StorageDir: t.TempDir(), TransitionDelay: delay})
	began := time.Now()
	resp, err := c.v1.Create(ctx(t), &providerv1.CreateRequest{Name: "slow", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	for {
		st, err := c.v1.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: resp.GetTask()})
		require.NoError(t, err)
		if st.GetDone() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.GreaterOrEqual(t, time.Since(began), delay, "task done before the transition ended")
	d, err := c.v1.Describe(ctx(t), &providerv1.DescribeRequest{Id: resp.GetId()})
	require.NoError(t, err)
	require.Equal(t, "On", d.GetPowerState())
}

func TestMetricsAndReady(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a.json"), []byte("{corrupt"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600))
	reg := prometheus.NewPedanticRegistry()
	p, c := start(t, Config{StorageDir: dir, Registerer: reg})

	require.NoError(t, p.Ready(ctx(t)))
	_, err := c.v1.Create(ctx(t), &providerv1.CreateRequest{Name: "a", ClassJson: `{"CPU":1,"MemoryMiB":1}`})
	require.NoError(t, err)
	require.Equal(t, 1, p.VMCount())

	mfs, err := reg.Gather()
	require.NoError(t, err)
	values := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				values[key] = g.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				values[key] = c.GetValue()
			}
		}
	}
	require.Equal(t, 1.0, values[MetricVMs+"/file"])
	require.Equal(t, 1.0, values[MetricSkippedFiles+"/file/corrupt"])
	require.Equal(t, 1.0, values[MetricSkippedFiles+"/file/foreign"])
	require.FileExists(t, filepath.Join(dir, "notes.txt"), "a foreign file was deleted")

	// Registering twice on one registry is reported, not a panic.
	_, err = New(Config{StorageDir: t.TempDir(), Registerer: reg, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.Error(t, err)

	require.NoError(t, os.RemoveAll(dir))
	require.Error(t, p.Ready(ctx(t)), "ready without a storage directory")
	v, err := c.v1.Validate(ctx(t), &providerv1.ValidateRequest{})
	require.NoError(t, err)
	require.False(t, v.GetOk())
	require.NotEmpty(t, v.GetMessage())
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{StorageDir: t.TempDir(), TransitionDelay: -time.Second})
	require.Error(t, err)

	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = New(Config{StorageDir: file})
	require.Error(t, err)

	dir := t.TempDir()
	p, err := New(Config{StorageDir: dir})
	require.NoError(t, err)
	_, err = New(Config{StorageDir: dir})
	require.ErrorContains(t, err, "in use", "two providers on one directory")
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
}
