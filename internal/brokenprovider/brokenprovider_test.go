package brokenprovider

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/providers/file"
)

// capture is a ServiceRegistrar that keeps what is registered instead of serving it.
type capture map[string]any

func (c capture) RegisterService(desc *grpc.ServiceDesc, impl any) { c[desc.ServiceName] = impl }

// servers registers a fresh file provider through a Registrar with d and returns what a
// client would talk to (wrapped) and the real servers.
func servers(t *testing.T, d Defect) (providerv1.ProviderServer, tutorialv1.ProviderServiceServer, *Registrar) {
	t.Helper()
	p, err := file.New(file.Config{StorageDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	got := capture{}
	reg := NewRegistrar(got, d)
	p.Register(reg)
	return got[providerv1.Provider_ServiceDesc.ServiceName].(providerv1.ProviderServer),
		got[tutorialv1.ProviderService_ServiceDesc.ServiceName].(tutorialv1.ProviderServiceServer), reg
}

func TestRegistrarWrapsOnlyWhatTheDefectBreaks(t *testing.T) {
	v1, tut, reg := servers(t, Healthy)
	if v1 != reg.V1() || tut != reg.Tutorial() {
		t.Fatal("the healthy registrar must register the real servers unchanged")
	}
	v1, tut, reg = servers(t, MustGet("validate-not-ok"))
	if v1 == reg.V1() {
		t.Error("the v1 server was not wrapped")
	}
	if tut != reg.Tutorial() {
		t.Error("a v1-only defect wrapped the tutorial server")
	}
}

func TestCatalogNamesAreUniqueAndFound(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Catalog() {
		if seen[d.Name] {
			t.Errorf("duplicate defect %q", d.Name)
		}
		seen[d.Name] = true
		if d.V1 == nil && d.Tutorial == nil && d.Health == nil {
			t.Errorf("defect %q breaks no dialect", d.Name)
		}
		if got, ok := Get(d.Name); !ok || got.Name != d.Name {
			t.Errorf("Get(%q) did not find it", d.Name)
		}
	}
	if _, ok := Get("no-such-defect"); ok {
		t.Error("Get found a defect that is not catalogued")
	}
}

// The defects below were once the conformance suite's holes; the scenarios that catch them
// now (CORE-038/039, SNAP-015/016/017, CLONE-012/013) only run through the whole suite. These
// tests show each wrapper's symptom directly, so a wrapper that stopped misbehaving is told
// apart from a scenario that stopped noticing.

var ctx = context.Background()

func createV1(t *testing.T, p providerv1.ProviderServer, name string) string {
	t.Helper()
	resp, err := p.Create(ctx, &providerv1.CreateRequest{Name: name, ClassJson: `{"CPU":2,"MemoryMiB":2048}`})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return resp.GetId()
}

func describeOK(t *testing.T, p providerv1.ProviderServer, id string) (power string, vm v1VM) {
	t.Helper()
	resp, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: id})
	if err != nil || !resp.GetExists() {
		t.Fatalf("Describe(%s): exists=%t err=%v", id, resp.GetExists(), err)
	}
	if err := json.Unmarshal([]byte(resp.GetProviderRawJson()), &vm); err != nil {
		t.Fatal(err)
	}
	return resp.GetPowerState(), vm
}

func snapshotV1(t *testing.T, p providerv1.ProviderServer, vmID string) string {
	t.Helper()
	resp, err := p.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: vmID, NameHint: "s"})
	if err != nil {
		t.Fatalf("SnapshotCreate: %v", err)
	}
	return resp.GetSnapshotId()
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: got %s (%v), want %s", what, got, err, want)
	}
}

func TestReconfigureAcceptsZeroCPU(t *testing.T) {
	p, tut, _ := servers(t, MustGet("reconfigure-accepts-zero-cpu"))
	id := createV1(t, p, "vm")
	_, err := p.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: `{"Class":{"CPU":0,"MemoryMiB":4096}}`})
	wantCode(t, "v1 Reconfigure to 0 CPUs", err, codes.OK)
	if _, vm := describeOK(t, p, id); vm.CPU != 2 || vm.MemoryMiB != 4096 {
		t.Errorf("after a reconfigure to 0 CPUs: cpu=%d memory=%d, want the old CPU count and the new memory", vm.CPU, vm.MemoryMiB)
	}
	_, err = tut.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: id, Spec: &tutorialv1.VMSpec{Cpu: 0, Memory: 2048}})
	wantCode(t, "tutorial UpdateVM to 0 CPUs", err, codes.OK)
}

func TestSnapshotDeleteRemovesAll(t *testing.T) {
	p, _, _ := servers(t, MustGet("snapshot-delete-removes-all"))
	id := createV1(t, p, "vm")
	s1, s2 := snapshotV1(t, p, id), snapshotV1(t, p, id)
	_, err := p.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: id, SnapshotId: s1})
	wantCode(t, "SnapshotDelete(s1)", err, codes.OK)
	_, err = p.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: s2})
	wantCode(t, "SnapshotRevert(s2) after deleting s1", err, codes.NotFound)
}

func TestRevertConsumesSnapshot(t *testing.T) {
	p, _, _ := servers(t, MustGet("revert-consumes-snapshot"))
	id := createV1(t, p, "vm")
	s := snapshotV1(t, p, id)
	_, err := p.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: s})
	wantCode(t, "first revert", err, codes.OK)
	_, err = p.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: s})
	wantCode(t, "second revert", err, codes.NotFound)
}

func TestCloneRetryAlreadyExists(t *testing.T) {
	p, tut, _ := servers(t, MustGet("clone-retry-already-exists"))
	id := createV1(t, p, "vm")
	req := &providerv1.CloneRequest{SourceVmId: id, TargetName: "copy"}
	_, err := p.Clone(ctx, req)
	wantCode(t, "first v1 clone", err, codes.OK)
	_, err = p.Clone(ctx, req)
	wantCode(t, "repeated v1 clone", err, codes.AlreadyExists)
	treq := &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "copy2"}
	_, err = tut.CloneVM(ctx, treq)
	wantCode(t, "first tutorial clone", err, codes.OK)
	_, err = tut.CloneVM(ctx, treq)
	wantCode(t, "repeated tutorial clone", err, codes.AlreadyExists)
}

// TestPowerSideEffects: each operation leaves a running VM Off, in both dialects.
func TestPowerSideEffects(t *testing.T) {
	for _, tc := range []struct {
		defect string
		v1     func(p providerv1.ProviderServer, id string) error
		tut    func(p tutorialv1.ProviderServiceServer, id string) error
	}{
		{
			"reconfigure-leaves-vm-off",
			func(p providerv1.ProviderServer, id string) error {
				_, err := p.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: `{"Class":{"CPU":3,"MemoryMiB":3072}}`})
				return err
			},
			func(p tutorialv1.ProviderServiceServer, id string) error {
				_, err := p.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: id, Spec: &tutorialv1.VMSpec{Cpu: 3, Memory: 3072}})
				return err
			},
		},
		{
			"snapshot-leaves-vm-off",
			func(p providerv1.ProviderServer, id string) error {
				_, err := p.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: id, NameHint: "s"})
				return err
			},
			func(p tutorialv1.ProviderServiceServer, id string) error {
				_, err := p.CreateSnapshot(ctx, &tutorialv1.CreateSnapshotRequest{VmId: id, Name: "s"})
				return err
			},
		},
		{
			"clone-stops-source",
			func(p providerv1.ProviderServer, id string) error {
				_, err := p.Clone(ctx, &providerv1.CloneRequest{SourceVmId: id, TargetName: "copy-v1"})
				return err
			},
			func(p tutorialv1.ProviderServiceServer, id string) error {
				_, err := p.CloneVM(ctx, &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "copy-tutorial"})
				return err
			},
		},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			p, tut, _ := servers(t, MustGet(tc.defect))
			for dialect, op := range map[string]func(id string) error{
				"v1":       func(id string) error { return tc.v1(p, id) },
				"tutorial": func(id string) error { return tc.tut(tut, id) },
			} {
				id := createV1(t, p, "vm-"+dialect)
				if power, _ := describeOK(t, p, id); power != "On" {
					t.Fatalf("%s: a new VM is %q, want On", dialect, power)
				}
				if err := op(id); err != nil {
					t.Fatalf("%s: %v", dialect, err)
				}
				if power, _ := describeOK(t, p, id); power != "Off" {
					t.Errorf("%s: the VM is %q after the operation, want the defect's Off", dialect, power)
				}
			}
		})
	}
}
