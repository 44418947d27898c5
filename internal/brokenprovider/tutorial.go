package brokenprovider

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The tutorial API's states, as the reference provider reports them.
const (
	tutorialRunning = "Running"
	tutorialStopped = "Stopped"
)

// getTutorial asks the real provider about a VM; ok is false when it has none of that id.
func getTutorial(ctx context.Context, p tutorialv1.ProviderServiceServer, id string) (*tutorialv1.GetVMResponse, bool) {
	vm, err := p.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: id})
	return vm, err == nil
}

// --- capabilities -------------------------------------------------------------------------

type tutSnapshotsUnimplemented struct {
	tutorialv1.ProviderServiceServer
}

func (w tutSnapshotsUnimplemented) CreateSnapshot(context.Context, *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method CreateSnapshot not implemented")
}

// tutHideCapability reports one capability as unsupported while the calls behind it work.
type tutHideCapability struct {
	tutorialv1.ProviderServiceServer
	name string
}

func (w tutHideCapability) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	// The real server answers with a shared, package-level list: change a copy only.
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	for _, c := range resp.GetCapabilities() {
		if c.GetName() == w.name {
			c.Supported = false
		}
	}
	return resp, nil
}

// --- create -------------------------------------------------------------------------------

// tutIgnoresSpecHardware creates every VM with the provider's default size.
type tutIgnoresSpecHardware struct {
	tutorialv1.ProviderServiceServer
}

func (w tutIgnoresSpecHardware) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetSpec() != nil {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Spec.Cpu, req.Spec.Memory = fallbackCPU, fallbackMemoryMiB
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

type tutNotIdempotent struct {
	tutorialv1.ProviderServiceServer
	names *duplicateNames
}

func (w tutNotIdempotent) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetName() == "" {
		return w.ProviderServiceServer.CreateVM(ctx, req)
	}
	r := proto.Clone(req).(*tutorialv1.CreateVMRequest)
	r.Name = w.names.next(req.GetName())
	resp, err := w.ProviderServiceServer.CreateVM(ctx, r)
	if err == nil && resp.GetVmId() != "" {
		w.names.show(resp.GetVmId(), req.GetName())
	}
	return resp, err
}

func (w tutNotIdempotent) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetVMResponse)
	resp.Name = w.names.name(resp.GetVmId(), resp.GetName())
	return resp, nil
}

func (w tutNotIdempotent) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		vm.Name = w.names.name(vm.GetVmId(), vm.GetName())
	}
	return resp, nil
}

type tutEmptyCreateID struct {
	tutorialv1.ProviderServiceServer
}

func (w tutEmptyCreateID) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err != nil {
		return nil, err
	}
	return &tutorialv1.CreateVMResponse{Status: resp.GetStatus()}, nil
}

type tutAcceptsZeroCPU struct {
	tutorialv1.ProviderServiceServer
}

func (w tutAcceptsZeroCPU) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetSpec() != nil && req.GetSpec().GetCpu() <= 0 {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Spec.Cpu = 1
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

// --- describe -----------------------------------------------------------------------------

// tutGetUnknownInternal lets a failed lookup escape as Internal instead of NotFound.
type tutGetUnknownInternal struct {
	tutorialv1.ProviderServiceServer
}

func (w tutGetUnknownInternal) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.Internal, "vm %s: lookup failed: no such VM", req.GetVmId())
	}
	return resp, err
}

// tutLowercaseStates reports the settled states in the hypervisor's lower case in GetVM.
type tutLowercaseStates struct {
	tutorialv1.ProviderServiceServer
}

func (w tutLowercaseStates) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetVMResponse)
	if s := resp.GetStatus(); s.GetState() == tutorialRunning || s.GetState() == tutorialStopped {
		s.State = strings.ToLower(s.GetState())
	}
	return resp, nil
}

// --- list ---------------------------------------------------------------------------------

type tutListOmitsStopped struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListOmitsStopped) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &tutorialv1.ListVMsResponse{}
	for _, vm := range resp.GetVms() {
		if vm.GetStatus().GetState() != tutorialStopped {
			out.Vms = append(out.Vms, vm)
		}
	}
	return out, nil
}

// tutStaleGetHardware serves GetVM's spec from a cache filled at create or clone time; the
// tutorial's VM list carries no hardware, so GetVM is the view that goes stale.
type tutStaleGetHardware struct {
	tutorialv1.ProviderServiceServer
	cache *hardwareCache
}

func (w tutStaleGetHardware) remember(ctx context.Context, id string) {
	if vm, ok := getTutorial(ctx, w.ProviderServiceServer, id); ok {
		w.cache.keep(id, hardware{vm.GetSpec().GetCpu(), vm.GetSpec().GetMemory()})
	}
}

func (w tutStaleGetHardware) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil {
		w.remember(ctx, resp.GetVmId())
	}
	return resp, err
}

func (w tutStaleGetHardware) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil {
		w.remember(ctx, resp.GetCloneVmId())
	}
	return resp, err
}

func (w tutStaleGetHardware) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return nil, err
	}
	if hw, ok := w.cache.get(resp.GetVmId()); ok && resp.GetSpec() != nil {
		resp = proto.Clone(resp).(*tutorialv1.GetVMResponse)
		resp.Spec.Cpu, resp.Spec.Memory = hw.cpu, hw.memoryMiB
	}
	return resp, nil
}

type tutListKeepsDeleted struct {
	tutorialv1.ProviderServiceServer
	deleted *ghosts[*tutorialv1.VMSummary]
}

func (w tutListKeepsDeleted) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	vm, existed := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	resp, err := w.ProviderServiceServer.DeleteVM(ctx, req)
	if err == nil && existed {
		w.deleted.add(vm.GetVmId(), &tutorialv1.VMSummary{VmId: vm.GetVmId(), Name: vm.GetName(), Status: vm.GetStatus()})
	}
	return resp, err
}

func (w tutListKeepsDeleted) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &tutorialv1.ListVMsResponse{Vms: append([]*tutorialv1.VMSummary(nil), resp.GetVms()...)}
	for _, g := range w.deleted.all() {
		out.Vms = append(out.Vms, proto.Clone(g).(*tutorialv1.VMSummary))
	}
	return out, nil
}

// --- power --------------------------------------------------------------------------------

type tutRebootLeavesOff struct {
	tutorialv1.ProviderServiceServer
}

func (w tutRebootLeavesOff) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_REBOOT {
		req = &tutorialv1.PowerVMRequest{VmId: req.GetVmId(), PowerOp: tutorialv1.PowerOp_POWER_OP_OFF}
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

type tutPowerAcceptsOps struct {
	tutorialv1.ProviderServiceServer
	accept func(tutorialv1.PowerOp) bool
}

func (w tutPowerAcceptsOps) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if w.accept(req.GetPowerOp()) {
		vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
		if !ok {
			return &tutorialv1.PowerVMResponse{}, nil
		}
		return &tutorialv1.PowerVMResponse{Status: vm.GetStatus()}, nil
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

type tutPowerUnknownOK struct {
	tutorialv1.ProviderServiceServer
}

func (w tutPowerUnknownOK) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &tutorialv1.PowerVMResponse{}, nil
	}
	return resp, err
}

// --- reconfigure --------------------------------------------------------------------------

// tutUpdateIgnores keeps the current value of one spec field on UpdateVM.
type tutUpdateIgnores struct {
	tutorialv1.ProviderServiceServer
	field string // "cpu" or "memory"
}

func (w tutUpdateIgnores) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if cur, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && req.GetSpec() != nil {
		req = proto.Clone(req).(*tutorialv1.UpdateVMRequest)
		switch w.field {
		case "cpu":
			req.Spec.Cpu = cur.GetSpec().GetCpu()
		case "memory":
			req.Spec.Memory = cur.GetSpec().GetMemory()
		}
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

type tutUpdateUnknownOK struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdateUnknownOK) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &tutorialv1.UpdateVMResponse{}, nil
	}
	return resp, err
}

// --- delete -------------------------------------------------------------------------------

type tutDeleteUnknownNotFound struct {
	tutorialv1.ProviderServiceServer
}

func (w tutDeleteUnknownNotFound) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	if _, err := w.ProviderServiceServer.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: req.GetVmId()}); err != nil {
		return nil, err
	}
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}

// --- error codes --------------------------------------------------------------------------

type tutEmptyIDInternal struct {
	tutorialv1.ProviderServiceServer
}

func (w tutEmptyIDInternal) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.GetVM(ctx, req)
}

func (w tutEmptyIDInternal) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

func (w tutEmptyIDInternal) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}

func (w tutEmptyIDInternal) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

func (w tutEmptyIDInternal) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.CreateSnapshot(ctx, req)
}

func (w tutEmptyIDInternal) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	if req.GetSourceVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServiceServer.CloneVM(ctx, req)
}

// --- snapshot -----------------------------------------------------------------------------

type tutSnapshotUnknownVM struct {
	tutorialv1.ProviderServiceServer
	code codes.Code
}

func (w tutSnapshotUnknownVM) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	resp, err := w.ProviderServiceServer.CreateSnapshot(ctx, req)
	if status.Code(err) != codes.NotFound {
		return resp, err
	}
	if w.code == codes.OK {
		return &tutorialv1.CreateSnapshotResponse{
			SnapshotId: uuid.NewString(),
			Status:     &tutorialv1.TaskStatus{State: "Completed", Message: "snapshot recorded"},
		}, nil
	}
	return nil, status.Errorf(w.code, "snapshot of vm %s: datastore lookup failed", req.GetVmId())
}

type tutOneSnapshotPerVM struct {
	tutorialv1.ProviderServiceServer
}

func (w tutOneSnapshotPerVM) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	resp, err := w.ProviderServiceServer.CreateSnapshot(ctx, req)
	if err != nil {
		return nil, err
	}
	return &tutorialv1.CreateSnapshotResponse{SnapshotId: req.GetVmId(), Status: resp.GetStatus()}, nil
}

// --- clone --------------------------------------------------------------------------------

type tutCloneSharesConfig struct {
	tutorialv1.ProviderServiceServer
	clones *clones
}

func (w tutCloneSharesConfig) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil && resp.GetCloneVmId() != "" {
		w.clones.add(req.GetSourceVmId(), resp.GetCloneVmId())
	}
	return resp, err
}

func (w tutCloneSharesConfig) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if err == nil {
		for _, c := range w.clones.of(req.GetVmId()) {
			_, _ = w.ProviderServiceServer.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: c, Spec: req.GetSpec()})
		}
	}
	return resp, err
}

type tutCloneDeletedWithSource struct {
	tutorialv1.ProviderServiceServer
	clones *clones
}

func (w tutCloneDeletedWithSource) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil && resp.GetCloneVmId() != "" {
		w.clones.add(req.GetSourceVmId(), resp.GetCloneVmId())
	}
	return resp, err
}

func (w tutCloneDeletedWithSource) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	resp, err := w.ProviderServiceServer.DeleteVM(ctx, req)
	if err == nil {
		for _, c := range w.clones.of(req.GetVmId()) {
			_, _ = w.ProviderServiceServer.DeleteVM(ctx, &tutorialv1.DeleteVMRequest{VmId: c})
		}
	}
	return resp, err
}

type tutCloneUnknownSourceInternal struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneUnknownSourceInternal) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.Internal, "clone of %s: source lookup returned nil", req.GetSourceVmId())
	}
	return resp, err
}

type tutCloneDefaultsTargetName struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneDefaultsTargetName) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	if req.GetCloneName() == "" && req.GetSourceVmId() != "" {
		if src, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetSourceVmId()); ok {
			req = &tutorialv1.CloneVMRequest{SourceVmId: req.GetSourceVmId(), CloneName: src.GetName() + "-clone"}
		}
	}
	return w.ProviderServiceServer.CloneVM(ctx, req)
}

type tutCloneAnswersSourceID struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneAnswersSourceID) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err != nil {
		return nil, err
	}
	return &tutorialv1.CloneVMResponse{CloneVmId: req.GetSourceVmId(), Status: resp.GetStatus()}, nil
}

// --- retries, repeated use and power side effects (CORE-038/039, SNAP-015/016/017, CLONE-012/013)

type tutUpdateAcceptsZeroCPU struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdateAcceptsZeroCPU) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if req.GetSpec() != nil && req.GetSpec().GetCpu() <= 0 {
		if cur, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok {
			req = proto.Clone(req).(*tutorialv1.UpdateVMRequest)
			req.Spec.Cpu = cur.GetSpec().GetCpu()
		}
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

type tutCloneRetryAlreadyExists struct {
	tutorialv1.ProviderServiceServer
	made *idSet
}

func (w tutCloneRetryAlreadyExists) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	key := req.GetSourceVmId() + "/" + req.GetCloneName()
	if w.made.has(key) {
		return nil, status.Errorf(codes.AlreadyExists, "a VM named %q already exists", req.GetCloneName())
	}
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil {
		w.made.add(key)
	}
	return resp, err
}

func powerOffTutorial(ctx context.Context, p tutorialv1.ProviderServiceServer, id string) {
	_, _ = p.PowerVM(ctx, &tutorialv1.PowerVMRequest{VmId: id, PowerOp: tutorialv1.PowerOp_POWER_OP_OFF})
}

type tutUpdateLeavesOff struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdateLeavesOff) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if err == nil {
		powerOffTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	}
	return resp, err
}

type tutSnapshotLeavesOff struct {
	tutorialv1.ProviderServiceServer
}

func (w tutSnapshotLeavesOff) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	resp, err := w.ProviderServiceServer.CreateSnapshot(ctx, req)
	if err == nil {
		powerOffTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	}
	return resp, err
}

type tutCloneStopsSource struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneStopsSource) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil {
		powerOffTutorial(ctx, w.ProviderServiceServer, req.GetSourceVmId())
	}
	return resp, err
}

// tutUnstableCapabilities describes vm.create with the room left on the host, which changes
// between two calls.
type tutUnstableCapabilities struct {
	tutorialv1.ProviderServiceServer
	calls *atomic.Int64
}

func (w tutUnstableCapabilities) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	left := 500 - w.calls.Add(1)
	for _, c := range resp.Capabilities {
		if c.GetName() == "vm.create" {
			c.Description = fmt.Sprintf("%s (room for %d more VMs)", c.GetDescription(), left)
		}
	}
	return resp, nil
}

type tutNamelessCreate struct {
	tutorialv1.ProviderServiceServer
}

func (w tutNamelessCreate) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetName() == "" {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Name = unnamed()
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

type tutListInventoryPaths struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListInventoryPaths) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		vm.Name = inventoryPath(vm.GetName())
	}
	return resp, nil
}

// tutCollidingCreates: creates that overlap in time share the first one's id (see collider).
type tutCollidingCreates struct {
	tutorialv1.ProviderServiceServer
	c *collider
}

func (w tutCollidingCreates) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	var resp *tutorialv1.CreateVMResponse
	id, err := w.c.create(func() (string, error) {
		var err error
		resp, err = w.ProviderServiceServer.CreateVM(ctx, req)
		return resp.GetVmId(), err
	}, func(id string) {
		_, _ = w.ProviderServiceServer.DeleteVM(context.WithoutCancel(ctx), &tutorialv1.DeleteVMRequest{VmId: id})
	})
	if err != nil {
		return nil, err
	}
	return &tutorialv1.CreateVMResponse{VmId: id, Status: resp.GetStatus()}, nil
}

// tutIDsAsPaths resolves ids as file paths (see pathID) before looking VMs up.
type tutIDsAsPaths struct {
	tutorialv1.ProviderServiceServer
}

func (w tutIDsAsPaths) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	return w.ProviderServiceServer.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: pathID(req.GetVmId())})
}

func (w tutIDsAsPaths) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	return w.ProviderServiceServer.DeleteVM(ctx, &tutorialv1.DeleteVMRequest{VmId: pathID(req.GetVmId())})
}

func (w tutIDsAsPaths) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	r := proto.Clone(req).(*tutorialv1.PowerVMRequest)
	r.VmId = pathID(r.GetVmId())
	return w.ProviderServiceServer.PowerVM(ctx, r)
}

func (w tutIDsAsPaths) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	r := proto.Clone(req).(*tutorialv1.UpdateVMRequest)
	r.VmId = pathID(r.GetVmId())
	return w.ProviderServiceServer.UpdateVM(ctx, r)
}

// --- the second-look rules (CORE-041/042/043, CLONE-014) ---------------------------------

// tutIDNamed is the id of the VM the list shows under name, or "".
func tutIDNamed(ctx context.Context, p tutorialv1.ProviderServiceServer, name string) string {
	list, err := p.ListVMs(ctx, &tutorialv1.ListVMsRequest{})
	if err != nil {
		return ""
	}
	for _, vm := range list.GetVms() {
		if vm.GetName() == name {
			return vm.GetVmId()
		}
	}
	return ""
}

type tutCreateRetryStartsVM struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCreateRetryStartsVM) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	existed := req.GetName() != "" && tutIDNamed(ctx, w.ProviderServiceServer, req.GetName()) != ""
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil && existed {
		_, _ = w.ProviderServiceServer.PowerVM(ctx, &tutorialv1.PowerVMRequest{VmId: resp.GetVmId(), PowerOp: tutorialv1.PowerOp_POWER_OP_ON})
	}
	return resp, err
}

type tutDeleteKeepsName struct {
	tutorialv1.ProviderServiceServer
	gone *nameIDs
}

func (w tutDeleteKeepsName) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	var name string
	if vm, err := w.ProviderServiceServer.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: req.GetVmId()}); err == nil {
		name = vm.GetName()
	}
	resp, err := w.ProviderServiceServer.DeleteVM(ctx, req)
	if err == nil && name != "" {
		w.gone.set(name, req.GetVmId())
	}
	return resp, err
}

func (w tutDeleteKeepsName) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if id, ok := w.gone.get(req.GetName()); ok {
		return &tutorialv1.CreateVMResponse{VmId: id, Status: &tutorialv1.VMStatus{State: "Running"}}, nil
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

type tutUpdateStartsVM struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdateStartsVM) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if err == nil {
		_, _ = w.ProviderServiceServer.PowerVM(ctx, &tutorialv1.PowerVMRequest{VmId: req.GetVmId(), PowerOp: tutorialv1.PowerOp_POWER_OP_ON})
	}
	return resp, err
}

type tutCloneToTakenName struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneToTakenName) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	if req.GetSourceVmId() != "" && req.GetCloneName() != "" {
		if id := tutIDNamed(ctx, w.ProviderServiceServer, req.GetCloneName()); id != "" {
			return &tutorialv1.CloneVMResponse{CloneVmId: id, Status: &tutorialv1.TaskStatus{State: "Running"}}, nil
		}
	}
	return w.ProviderServiceServer.CloneVM(ctx, req)
}
