package brokenprovider

import (
	"context"
	"encoding/json"
	"math"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the fourth mutation round: clone overrides nobody refused, clones of clones,
// reverts that reach clones, and reconfigures that only ever grow.

// desiredClass reads the CPU and MemoryMiB of a desired state; ok is false when it has none.
func desiredClass(req *providerv1.ReconfigureRequest) (cpu, mem float64, ok bool) {
	var desired struct {
		Class map[string]any
	}
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) != nil || desired.Class == nil {
		return 0, 0, false
	}
	cpu, cok := desired.Class["CPU"].(float64)
	mem, mok := desired.Class["MemoryMiB"].(float64)
	return cpu, mem, cok && mok
}

// --- reconfigure --------------------------------------------------------------------------

// v1ShrinkIgnored answers a reconfigure that makes a VM smaller with OK and keeps its size:
// hot-add code used for every change.
type v1ShrinkIgnored struct{ providerv1.ProviderServer }

func (w v1ShrinkIgnored) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if cpu, mem, ok := desiredClass(req); ok && cpu > 0 && mem > 0 {
		if vm, found := describeV1(ctx, w.ProviderServer, req.GetId()); found && (cpu < float64(vm.CPU) || mem < float64(vm.MemoryMiB)) {
			return &providerv1.TaskResponse{}, nil
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

type tutShrinkIgnored struct {
	tutorialv1.ProviderServiceServer
}

func (w tutShrinkIgnored) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if s := req.GetSpec(); s != nil && s.GetCpu() > 0 && s.GetMemory() > 0 {
		if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok &&
			(s.GetCpu() < vm.GetSpec().GetCpu() || s.GetMemory() < vm.GetSpec().GetMemory()) {
			return &tutorialv1.UpdateVMResponse{Status: vm.GetStatus()}, nil
		}
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

// v1ReconfigureCPUWraps reads the desired CPU as a float and converts it to int32, which
// truncates fractions and wraps numbers beyond 32 bits.
type v1ReconfigureCPUWraps struct{ providerv1.ProviderServer }

func (w v1ReconfigureCPUWraps) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	var desired map[string]any
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) == nil {
		if class, ok := desired["Class"].(map[string]any); ok {
			if c, ok := class["CPU"].(float64); ok && (c != math.Trunc(c) || c > math.MaxInt32) {
				class["CPU"] = int32(int64(c))
				if b, err := json.Marshal(desired); err == nil {
					req = &providerv1.ReconfigureRequest{Id: req.GetId(), DesiredJson: string(b)}
				}
			}
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// --- clone --------------------------------------------------------------------------------

// v1CloneOverrideLenient makes a plain clone when the override cannot be read or holds no
// positive size.
type v1CloneOverrideLenient struct{ providerv1.ProviderServer }

func (w v1CloneOverrideLenient) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetClassJson() != "" && req.GetSourceVmId() != "" && req.GetTargetName() != "" {
		resp, err := w.ProviderServer.Clone(ctx, req)
		if status.Code(err) == codes.InvalidArgument {
			plain := proto.Clone(req).(*providerv1.CloneRequest)
			plain.ClassJson = ""
			return w.ProviderServer.Clone(ctx, plain)
		}
		return resp, err
	}
	return w.ProviderServer.Clone(ctx, req)
}

// cloneSources remembers which VM each clone was made from.
type cloneSources struct{ m sync.Map } // clone id → source id

func (c *cloneSources) isClone(id string) bool {
	_, ok := c.m.Load(id)
	return ok
}

// holderOf finds the VM that holds name.
func holderOf(ctx context.Context, p providerv1.ProviderServer, name string) (string, bool) {
	list, err := p.ListVMs(ctx, &providerv1.ListVMsRequest{})
	if err != nil {
		return "", false
	}
	for _, vm := range list.GetVms() {
		if vm.GetName() == name {
			return vm.GetId(), true
		}
	}
	return "", false
}

// v1CloneRetryAnySource takes a clone to a name that another clone holds for a retry, whatever
// that clone's source.
type v1CloneRetryAnySource struct {
	providerv1.ProviderServer
	clones *cloneSources
}

func (w v1CloneRetryAnySource) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if id, ok := holderOf(ctx, w.ProviderServer, req.GetTargetName()); ok && w.clones.isClone(id) {
		return &providerv1.CloneResponse{TargetVmId: id}, nil
	}
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.clones.m.Store(resp.GetTargetVmId(), req.GetSourceVmId())
	}
	return resp, err
}

// v1CloneOfCloneRetryRefused records a clone of a clone as a clone of the first source, so a
// retry of it finds the name held by a clone of "another" source and refuses.
type v1CloneOfCloneRetryRefused struct {
	providerv1.ProviderServer
	clones *cloneSources
}

func (w v1CloneOfCloneRetryRefused) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if w.clones.isClone(req.GetSourceVmId()) {
		if _, taken := holderOf(ctx, w.ProviderServer, req.GetTargetName()); taken {
			return nil, status.Errorf(codes.AlreadyExists, "a VM named %q already exists", req.GetTargetName())
		}
	}
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.clones.m.Store(resp.GetTargetVmId(), req.GetSourceVmId())
	}
	return resp, err
}

// --- snapshot -----------------------------------------------------------------------------

// v1RevertReachesClones keeps clones on their source's snapshot chain: a revert of the source
// gives its clones the reverted hardware too.
type v1RevertReachesClones struct {
	providerv1.ProviderServer
	clones *clones
}

func (w v1RevertReachesClones) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.clones.add(req.GetSourceVmId(), resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1RevertReachesClones) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if err != nil {
		return resp, err
	}
	if vm, ok := describeV1(ctx, w.ProviderServer, req.GetVmId()); ok {
		for _, c := range w.clones.of(req.GetVmId()) {
			if clone, ok := describeV1(ctx, w.ProviderServer, c); ok {
				desired, _ := json.Marshal(map[string]any{"Name": clone.Name, "Class": map[string]any{"CPU": vm.CPU, "MemoryMiB": vm.MemoryMiB}})
				_, _ = w.ProviderServer.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: c, DesiredJson: string(desired)})
			}
		}
	}
	return resp, nil
}
