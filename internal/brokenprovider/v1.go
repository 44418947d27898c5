package brokenprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// Defaults a sloppy provider falls back to when it does not find the hardware it looks for.
// They differ from every value the suite asks for, so that a fallback never passes by chance.
const (
	fallbackCPU       = 1
	fallbackMemoryMiB = 1024
)

// v1VM is the part of the file provider's Describe provider_raw_json the wrappers need (the
// keys are documented behaviour of the reference provider).
type v1VM struct {
	Name      string `json:"name"`
	CPU       int32  `json:"cpu"`
	MemoryMiB int64  `json:"memoryMiB"`
}

// describeV1 asks the real provider about a VM; ok is false for an unknown or malformed id.
func describeV1(ctx context.Context, p providerv1.ProviderServer, id string) (v1VM, bool) {
	resp, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: id})
	if err != nil || !resp.GetExists() {
		return v1VM{}, false
	}
	var vm v1VM
	if json.Unmarshal([]byte(resp.GetProviderRawJson()), &vm) != nil {
		return v1VM{}, false
	}
	return vm, true
}

func classJSON(cpu int32, memoryMiB int64) string {
	b, _ := json.Marshal(struct {
		CPU       int32
		MemoryMiB int64
	}{cpu, memoryMiB})
	return string(b)
}

// withCreateClass is req with class_json replaced.
func withCreateClass(req *providerv1.CreateRequest, class string) *providerv1.CreateRequest {
	r := proto.Clone(req).(*providerv1.CreateRequest)
	r.ClassJson = class
	return r
}

// keepDesiredClassKey rewrites desired_json so that Class[key] holds the VM's current value:
// the reconfigure "forgets" that field. Payloads it cannot read pass unchanged, so that the
// real provider still rejects them.
func keepDesiredClassKey(ctx context.Context, p providerv1.ProviderServer, req *providerv1.ReconfigureRequest, key string) *providerv1.ReconfigureRequest {
	var desired map[string]json.RawMessage
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) != nil || desired["Class"] == nil {
		return req
	}
	var class map[string]any
	if json.Unmarshal(desired["Class"], &class) != nil || class == nil {
		return req
	}
	vm, ok := describeV1(ctx, p, req.GetId())
	if !ok {
		return req
	}
	switch key {
	case "CPU":
		class[key] = vm.CPU
	case "MemoryMiB":
		class[key] = vm.MemoryMiB
	}
	b, err := json.Marshal(class)
	if err != nil {
		return req
	}
	desired["Class"] = b
	out, err := json.Marshal(desired)
	if err != nil {
		return req
	}
	return &providerv1.ReconfigureRequest{Id: req.GetId(), DesiredJson: string(out)}
}

// --- capabilities -------------------------------------------------------------------------

// v1SnapshotsUnimplemented advertises snapshots but never wired SnapshotCreate up.
type v1SnapshotsUnimplemented struct{ providerv1.ProviderServer }

func (w v1SnapshotsUnimplemented) SnapshotCreate(context.Context, *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method SnapshotCreate not implemented")
}

// v1Capabilities answers GetCapabilities with the provider's answer as edit changes it: a
// flag that says what the provider does not do, or hides what it does.
type v1Capabilities struct {
	providerv1.ProviderServer
	edit func(*providerv1.GetCapabilitiesResponse)
}

func (w v1Capabilities) GetCapabilities(ctx context.Context, req *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.GetCapabilitiesResponse)
	w.edit(resp)
	return resp, nil
}

// v1HideClones answers every clone it cannot perform with Unimplemented, the answer that
// means "no clones" on the v1 wire, while real clones work.
type v1HideClones struct{ providerv1.ProviderServer }

func (w v1HideClones) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetSourceVmId() == "" {
		return nil, status.Error(codes.Unimplemented, "clone is not supported for this source")
	}
	return w.ProviderServer.Clone(ctx, req)
}

// --- validate -----------------------------------------------------------------------------

type v1ValidateNotOK struct{ providerv1.ProviderServer }

func (w v1ValidateNotOK) Validate(context.Context, *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	return &providerv1.ValidateResponse{Ok: false, Message: "hypervisor credentials are not configured"}, nil
}

// --- create -------------------------------------------------------------------------------

// v1LowercaseClassKeys reads cpus/memory (JSON tags a provider author guessed) instead of the
// producer's CPU/MemoryMiB, so the class silently falls back to defaults.
type v1LowercaseClassKeys struct{ providerv1.ProviderServer }

func (w v1LowercaseClassKeys) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	var class struct {
		CPUs   *int32 `json:"cpus"`
		Memory *int64 `json:"memory"`
	}
	if err := json.Unmarshal([]byte(req.GetClassJson()), &class); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "class_json: %v", err)
	}
	cpu, mem := int32(fallbackCPU), int64(fallbackMemoryMiB)
	if class.CPUs != nil {
		cpu = *class.CPUs
	}
	if class.Memory != nil {
		mem = *class.Memory
	}
	return w.ProviderServer.Create(ctx, withCreateClass(req, classJSON(cpu, mem)))
}

// v1NotIdempotent creates a new VM for every create, even of a name that exists.
type v1NotIdempotent struct {
	providerv1.ProviderServer
	names *duplicateNames
}

func (w v1NotIdempotent) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if req.GetName() == "" {
		return w.ProviderServer.Create(ctx, req)
	}
	r := proto.Clone(req).(*providerv1.CreateRequest)
	r.Name = w.names.next(req.GetName())
	resp, err := w.ProviderServer.Create(ctx, r)
	if err == nil && resp.GetId() != "" {
		w.names.show(resp.GetId(), req.GetName())
	}
	return resp, err
}

func (w v1NotIdempotent) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		vm.Name = w.names.name(vm.GetId(), vm.GetName())
	}
	return resp, nil
}

func (w v1NotIdempotent) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() {
		return resp, err
	}
	var raw map[string]any
	if json.Unmarshal([]byte(resp.GetProviderRawJson()), &raw) != nil {
		return resp, nil
	}
	name, _ := raw["name"].(string)
	raw["name"] = w.names.name(req.GetId(), name)
	b, err := json.Marshal(raw)
	if err != nil {
		return resp, nil
	}
	resp = proto.Clone(resp).(*providerv1.DescribeResponse)
	resp.ProviderRawJson = string(b)
	return resp, nil
}

// v1EmptyCreateID creates the VM but answers with an empty id (it meant to put it in the task).
type v1EmptyCreateID struct{ providerv1.ProviderServer }

func (w v1EmptyCreateID) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err != nil {
		return nil, err
	}
	return &providerv1.CreateResponse{Task: resp.GetTask()}, nil
}

// v1AcceptsZeroCPU treats a non-positive CPU count as "use one".
type v1AcceptsZeroCPU struct{ providerv1.ProviderServer }

func (w v1AcceptsZeroCPU) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	var class map[string]json.RawMessage
	if json.Unmarshal([]byte(req.GetClassJson()), &class) == nil {
		var cpu int64
		if json.Unmarshal(class["CPU"], &cpu) == nil && cpu <= 0 {
			class["CPU"] = json.RawMessage("1")
			if b, err := json.Marshal(class); err == nil {
				req = withCreateClass(req, string(b))
			}
		}
	}
	return w.ProviderServer.Create(ctx, req)
}

// v1LenientClass falls back to a default class when class_json cannot be read.
type v1LenientClass struct{ providerv1.ProviderServer }

func (w v1LenientClass) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	var class map[string]any
	err := json.Unmarshal([]byte(req.GetClassJson()), &class)
	_, cpuOK := class["CPU"].(float64)
	_, memOK := class["MemoryMiB"].(float64)
	if err != nil || !cpuOK || !memOK {
		req = withCreateClass(req, classJSON(fallbackCPU, fallbackMemoryMiB))
	}
	return w.ProviderServer.Create(ctx, req)
}

// --- describe -----------------------------------------------------------------------------

// v1DescribeUnknown answers an unknown VM with an error code instead of exists=false.
type v1DescribeUnknown struct {
	providerv1.ProviderServer
	code codes.Code
}

func (w v1DescribeUnknown) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err == nil && !resp.GetExists() {
		return nil, status.Errorf(w.code, "vm %s: lookup failed: no such VM", req.GetId())
	}
	return resp, err
}

// v1VendorPowerStates passes the hypervisor's own power state names through Describe.
type v1VendorPowerStates struct{ providerv1.ProviderServer }

var vSpherePowerStates = map[string]string{"On": "poweredOn", "Off": "poweredOff"}

func (w v1VendorPowerStates) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() {
		return resp, err
	}
	resp = proto.Clone(resp).(*providerv1.DescribeResponse)
	if s, ok := vSpherePowerStates[resp.GetPowerState()]; ok {
		resp.PowerState = s
	}
	return resp, nil
}

// --- list ---------------------------------------------------------------------------------

// v1ListOmitsStopped lists running VMs only (virsh list without --all).
type v1ListOmitsStopped struct{ providerv1.ProviderServer }

func (w v1ListOmitsStopped) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &providerv1.ListVMsResponse{}
	for _, vm := range resp.GetVms() {
		if vm.GetPowerState() != "Off" {
			out.Vms = append(out.Vms, vm)
		}
	}
	return out, nil
}

// v1StaleListHardware serves CPU and memory in ListVMs from an inventory cache filled when a
// VM is created or cloned and never refreshed; Describe stays live.
type v1StaleListHardware struct {
	providerv1.ProviderServer
	cache *hardwareCache
}

func (w v1StaleListHardware) remember(ctx context.Context, id string) {
	if vm, ok := describeV1(ctx, w.ProviderServer, id); ok {
		w.cache.keep(id, hardware{vm.CPU, vm.MemoryMiB})
	}
}

func (w v1StaleListHardware) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil {
		w.remember(ctx, resp.GetId())
	}
	return resp, err
}

func (w v1StaleListHardware) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		w.remember(ctx, resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1StaleListHardware) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if hw, ok := w.cache.get(vm.GetId()); ok {
			vm.Cpu, vm.MemoryMib = hw.cpu, hw.memoryMiB
		}
	}
	return resp, nil
}

// v1ListKeepsDeleted keeps listing VMs after they were deleted (a list cache that only ever
// adds entries).
type v1ListKeepsDeleted struct {
	providerv1.ProviderServer
	deleted *ghosts[*providerv1.VMInfo]
}

func (w v1ListKeepsDeleted) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	var entry *providerv1.VMInfo
	if list, err := w.ProviderServer.ListVMs(ctx, &providerv1.ListVMsRequest{}); err == nil {
		for _, vm := range list.GetVms() {
			if vm.GetId() == req.GetId() {
				entry = vm
			}
		}
	}
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil && entry != nil {
		w.deleted.add(entry.GetId(), entry)
	}
	return resp, err
}

func (w v1ListKeepsDeleted) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &providerv1.ListVMsResponse{Vms: append([]*providerv1.VMInfo(nil), resp.GetVms()...)}
	for _, g := range w.deleted.all() {
		out.Vms = append(out.Vms, proto.Clone(g).(*providerv1.VMInfo))
	}
	return out, nil
}

// --- power --------------------------------------------------------------------------------

// v1RebootLeavesOff implements REBOOT as a power-off and forgets to start the VM again.
type v1RebootLeavesOff struct{ providerv1.ProviderServer }

func (w v1RebootLeavesOff) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() == providerv1.PowerOp_POWER_OP_REBOOT {
		req = &providerv1.PowerRequest{Id: req.GetId(), Op: providerv1.PowerOp_POWER_OP_OFF}
	}
	return w.ProviderServer.Power(ctx, req)
}

// v1PowerAcceptsOps answers the power operations in accept with OK and does nothing.
type v1PowerAcceptsOps struct {
	providerv1.ProviderServer
	accept func(providerv1.PowerOp) bool
}

func (w v1PowerAcceptsOps) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if w.accept(req.GetOp()) {
		return &providerv1.TaskResponse{}, nil
	}
	return w.ProviderServer.Power(ctx, req)
}

// v1PowerUnknownOK treats "no such VM" as "nothing to do".
type v1PowerUnknownOK struct{ providerv1.ProviderServer }

func (w v1PowerUnknownOK) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &providerv1.TaskResponse{}, nil
	}
	return resp, err
}

// v1GracefulIgnored answers SHUTDOWN_GRACEFUL with OK but never asks the guest to shut down.
type v1GracefulIgnored struct{ providerv1.ProviderServer }

func (w v1GracefulIgnored) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL {
		if _, ok := describeV1(ctx, w.ProviderServer, req.GetId()); ok {
			return &providerv1.TaskResponse{}, nil
		}
	}
	return w.ProviderServer.Power(ctx, req)
}

// --- reconfigure --------------------------------------------------------------------------

// v1ReconfigureIgnores reads one key of the desired class under another name and so keeps
// the current value of that field.
type v1ReconfigureIgnores struct {
	providerv1.ProviderServer
	key string
}

func (w v1ReconfigureIgnores) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	return w.ProviderServer.Reconfigure(ctx, keepDesiredClassKey(ctx, w.ProviderServer, req, w.key))
}

type v1ReconfigureUnknownOK struct{ providerv1.ProviderServer }

func (w v1ReconfigureUnknownOK) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &providerv1.TaskResponse{}, nil
	}
	return resp, err
}

// --- delete -------------------------------------------------------------------------------

// v1DeleteUnknownNotFound refuses to delete what is not there: not idempotent.
type v1DeleteUnknownNotFound struct{ providerv1.ProviderServer }

func (w v1DeleteUnknownNotFound) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	d, err := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
	if err != nil {
		return nil, err
	}
	if !d.GetExists() {
		return nil, status.Errorf(codes.NotFound, "vm %s not found", req.GetId())
	}
	return w.ProviderServer.Delete(ctx, req)
}

// --- tasks --------------------------------------------------------------------------------

// v1ReconfigureTaskNeverDone never marks reconfigure tasks done (only the create path sets
// the flag).
type v1ReconfigureTaskNeverDone struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1ReconfigureTaskNeverDone) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err == nil {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1ReconfigureTaskNeverDone) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: false}, nil
	}
	return resp, err
}

// v1PowerTaskMessageInError puts the success message of power tasks into the error field.
type v1PowerTaskMessageInError struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1PowerTaskMessageInError) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if err == nil {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1PowerTaskMessageInError) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && resp.GetDone() && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: true, Error: "power operation completed successfully"}, nil
	}
	return resp, err
}

// v1UnknownTaskDone reports any task it does not know as done.
type v1UnknownTaskDone struct{ providerv1.ProviderServer }

func (w v1UnknownTaskDone) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &providerv1.TaskStatusResponse{Done: true}, nil
	}
	return resp, err
}

// v1UnknownTaskInvalid calls every task id it does not know malformed, its own format or not.
type v1UnknownTaskInvalid struct{ providerv1.ProviderServer }

func (w v1UnknownTaskInvalid) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.InvalidArgument, "task id %.80q is not valid", req.GetTask().GetId())
	}
	return resp, err
}

// v1NilTaskInternal dereferences the task without a nil check; the panic is recovered as
// Internal.
type v1NilTaskInternal struct{ providerv1.ProviderServer }

func (w v1NilTaskInternal) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	if req.GetTask() == nil {
		return nil, status.Error(codes.Internal, "panic: runtime error: invalid memory address or nil pointer dereference")
	}
	return w.ProviderServer.TaskStatus(ctx, req)
}

// v1WedgeOnNamelessCreate copies the upstream mock's bug: after one bad create, every write
// blocks forever while reads keep working.
type v1WedgeOnNamelessCreate struct {
	providerv1.ProviderServer
	wedged *atomic.Bool
}

func (w v1WedgeOnNamelessCreate) block(ctx context.Context) error {
	if !w.wedged.Load() {
		return nil
	}
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

func (w v1WedgeOnNamelessCreate) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if req.GetName() == "" {
		w.wedged.Store(true)
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Create(ctx, req)
}

func (w v1WedgeOnNamelessCreate) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Power(ctx, req)
}

func (w v1WedgeOnNamelessCreate) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Delete(ctx, req)
}

func (w v1WedgeOnNamelessCreate) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// --- error codes --------------------------------------------------------------------------

// v1EmptyIDInternal looks an empty id up as if it were one; the failed lookup surfaces as
// Internal instead of InvalidArgument.
type v1EmptyIDInternal struct{ providerv1.ProviderServer }

var errEmptyLookup = status.Error(codes.Internal, "inventory lookup failed: object reference is empty")

func (w v1EmptyIDInternal) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	if req.GetId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.Describe(ctx, req)
}

func (w v1EmptyIDInternal) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.Power(ctx, req)
}

func (w v1EmptyIDInternal) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if req.GetId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

func (w v1EmptyIDInternal) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	if req.GetId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.Delete(ctx, req)
}

func (w v1EmptyIDInternal) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	if req.GetVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.SnapshotCreate(ctx, req)
}

func (w v1EmptyIDInternal) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() == "" || req.GetSnapshotId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.SnapshotRevert(ctx, req)
}

func (w v1EmptyIDInternal) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() == "" || req.GetSnapshotId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.SnapshotDelete(ctx, req)
}

func (w v1EmptyIDInternal) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetSourceVmId() == "" {
		return nil, errEmptyLookup
	}
	return w.ProviderServer.Clone(ctx, req)
}

// v1JSONErrorsUnknown returns the JSON decoder's error as it is; gRPC sends a plain error as
// Unknown.
type v1JSONErrorsUnknown struct{ providerv1.ProviderServer }

// rawJSONError is the decoder's own error for malformed JSON, nil otherwise.
func rawJSONError(s string) error {
	if s == "" {
		return nil
	}
	var v any
	return json.Unmarshal([]byte(s), &v)
}

func (w v1JSONErrorsUnknown) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if err := rawJSONError(req.GetClassJson()); err != nil {
		return nil, err
	}
	return w.ProviderServer.Create(ctx, req)
}

func (w v1JSONErrorsUnknown) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if err := rawJSONError(req.GetDesiredJson()); err != nil {
		return nil, err
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

func (w v1JSONErrorsUnknown) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if err := rawJSONError(req.GetClassJson()); err != nil {
		return nil, err
	}
	return w.ProviderServer.Clone(ctx, req)
}

// --- snapshot -----------------------------------------------------------------------------

// v1RevertKeepsCPU restores memory and power from the snapshot but not the CPU count.
type v1RevertKeepsCPU struct{ providerv1.ProviderServer }

func (w v1RevertKeepsCPU) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	before, known := describeV1(ctx, w.ProviderServer, req.GetVmId())
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if err != nil || !known {
		return resp, err
	}
	after, ok := describeV1(ctx, w.ProviderServer, req.GetVmId())
	if !ok || after.CPU == before.CPU {
		return resp, nil
	}
	desired, _ := json.Marshal(map[string]json.RawMessage{"Class": json.RawMessage(classJSON(before.CPU, after.MemoryMiB))})
	if _, err := w.ProviderServer.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: req.GetVmId(), DesiredJson: string(desired)}); err != nil {
		return nil, err
	}
	return resp, nil
}

// v1SnapshotDeleteNoop answers SnapshotDelete with OK and keeps the snapshot.
type v1SnapshotDeleteNoop struct{ providerv1.ProviderServer }

func (w v1SnapshotDeleteNoop) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() == "" || req.GetSnapshotId() == "" {
		return w.ProviderServer.SnapshotDelete(ctx, req)
	}
	return &providerv1.TaskResponse{}, nil
}

// v1SnapshotUnknownVM answers a snapshot of an unknown VM with code, or with OK and a made-up
// id when code is OK.
type v1SnapshotUnknownVM struct {
	providerv1.ProviderServer
	code codes.Code
}

func (w v1SnapshotUnknownVM) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if status.Code(err) != codes.NotFound {
		return resp, err
	}
	if w.code == codes.OK {
		return &providerv1.SnapshotCreateResponse{SnapshotId: uuid.NewString()}, nil
	}
	return nil, status.Errorf(w.code, "snapshot of vm %s: datastore lookup failed", req.GetVmId())
}

// v1OrphanSnapshots keys snapshots by VM name and does not delete them with their VM: a new
// VM of the same name can be reverted to its predecessor's snapshots.
type v1OrphanSnapshots struct {
	providerv1.ProviderServer
	owners *snapshotOwners
}

func (w v1OrphanSnapshots) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		if vm, ok := describeV1(ctx, w.ProviderServer, req.GetVmId()); ok {
			w.owners.taken(resp.GetSnapshotId(), req.GetVmId(), vm.Name)
		}
	}
	return resp, err
}

func (w v1OrphanSnapshots) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil {
		w.owners.vmDeleted(req.GetId())
	}
	return resp, err
}

func (w v1OrphanSnapshots) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if status.Code(err) != codes.NotFound {
		return resp, err
	}
	if owner, ok := w.owners.orphanOf(req.GetSnapshotId()); ok {
		if vm, ok := describeV1(ctx, w.ProviderServer, req.GetVmId()); ok && vm.Name == owner {
			return &providerv1.TaskResponse{}, nil
		}
	}
	return resp, err
}

// v1OneSnapshotPerVM keeps one checkpoint per VM and names it after the VM: every snapshot of
// a VM gets the same id, and a new one replaces the old.
type v1OneSnapshotPerVM struct {
	providerv1.ProviderServer
	latest *latestSnapshot
}

func (w v1OneSnapshotPerVM) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err != nil {
		return nil, err
	}
	w.latest.set(req.GetVmId(), resp.GetSnapshotId())
	return &providerv1.SnapshotCreateResponse{SnapshotId: req.GetVmId(), Task: resp.GetTask()}, nil
}

func (w v1OneSnapshotPerVM) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	return w.ProviderServer.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: req.GetVmId(), SnapshotId: w.latest.resolve(req.GetSnapshotId())})
}

func (w v1OneSnapshotPerVM) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: w.latest.resolve(req.GetSnapshotId())})
	if err == nil && req.GetSnapshotId() == req.GetVmId() {
		w.latest.forget(req.GetVmId())
	}
	return resp, err
}

// --- clone --------------------------------------------------------------------------------

// v1CloneSharesConfig makes a clone share its source's configuration: a reconfigure of the
// source is applied to its clones too (a linked clone sold as a full one).
type v1CloneSharesConfig struct {
	providerv1.ProviderServer
	clones *clones
}

func (w v1CloneSharesConfig) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.clones.add(req.GetSourceVmId(), resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1CloneSharesConfig) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err == nil {
		for _, c := range w.clones.of(req.GetId()) {
			_, _ = w.ProviderServer.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: c, DesiredJson: req.GetDesiredJson()})
		}
	}
	return resp, err
}

// v1CloneDeletedWithSource deletes a VM's clones along with it (they share its disks).
type v1CloneDeletedWithSource struct {
	providerv1.ProviderServer
	clones *clones
}

func (w v1CloneDeletedWithSource) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.clones.add(req.GetSourceVmId(), resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1CloneDeletedWithSource) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil {
		for _, c := range w.clones.of(req.GetId()) {
			_, _ = w.ProviderServer.Delete(ctx, &providerv1.DeleteRequest{Id: c})
		}
	}
	return resp, err
}

// v1CloneIgnoresOverride never reads class_json of a clone.
type v1CloneIgnoresOverride struct{ providerv1.ProviderServer }

func (w v1CloneIgnoresOverride) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	r := proto.Clone(req).(*providerv1.CloneRequest)
	r.ClassJson = ""
	return w.ProviderServer.Clone(ctx, r)
}

// v1CloneUnknownSourceInternal reports a missing source as a server fault.
type v1CloneUnknownSourceInternal struct{ providerv1.ProviderServer }

func (w v1CloneUnknownSourceInternal) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.Internal, "clone of %s: source lookup returned nil", req.GetSourceVmId())
	}
	return resp, err
}

// v1CloneDefaultsTargetName names a clone without a target name "<source>-clone".
type v1CloneDefaultsTargetName struct{ providerv1.ProviderServer }

func (w v1CloneDefaultsTargetName) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetTargetName() == "" && req.GetSourceVmId() != "" {
		if src, ok := describeV1(ctx, w.ProviderServer, req.GetSourceVmId()); ok {
			r := proto.Clone(req).(*providerv1.CloneRequest)
			r.TargetName = src.Name + "-clone"
			req = r
		}
	}
	return w.ProviderServer.Clone(ctx, req)
}

// v1CloneAnswersSourceID clones, but answers with the source's id as the clone's.
type v1CloneAnswersSourceID struct{ providerv1.ProviderServer }

func (w v1CloneAnswersSourceID) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err != nil {
		return nil, err
	}
	return &providerv1.CloneResponse{TargetVmId: req.GetSourceVmId(), Task: resp.GetTask()}, nil
}

// --- retries, repeated use and power side effects (CORE-038/039, SNAP-015/016/017, CLONE-012/013)

// v1ReconfigureAcceptsZeroCPU takes a non-positive CPU count in desired_json as "keep".
type v1ReconfigureAcceptsZeroCPU struct{ providerv1.ProviderServer }

func (w v1ReconfigureAcceptsZeroCPU) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	var desired struct {
		Class struct{ CPU *float64 }
	}
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) == nil && desired.Class.CPU != nil && *desired.Class.CPU <= 0 {
		req = keepDesiredClassKey(ctx, w.ProviderServer, req, "CPU")
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// v1SnapshotDeleteRemovesAll deletes every snapshot of the VM when asked to delete one.
type v1SnapshotDeleteRemovesAll struct {
	providerv1.ProviderServer
	taken *clones // VM id → its snapshot ids
}

func (w v1SnapshotDeleteRemovesAll) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.taken.add(req.GetVmId(), resp.GetSnapshotId())
	}
	return resp, err
}

func (w v1SnapshotDeleteRemovesAll) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, req)
	if err == nil {
		for _, s := range w.taken.of(req.GetVmId()) {
			_, _ = w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: s})
		}
	}
	return resp, err
}

// v1RevertConsumesSnapshot restores a snapshot and then deletes it (a checkpoint applied once).
type v1RevertConsumesSnapshot struct{ providerv1.ProviderServer }

func (w v1RevertConsumesSnapshot) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if err == nil {
		_, _ = w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: req.GetSnapshotId()})
	}
	return resp, err
}

// v1CloneRetryAlreadyExists answers a repeated clone (same source, same target) with
// AlreadyExists instead of the clone it made the first time.
type v1CloneRetryAlreadyExists struct {
	providerv1.ProviderServer
	made *idSet // source + "/" + target
}

func (w v1CloneRetryAlreadyExists) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	key := req.GetSourceVmId() + "/" + req.GetTargetName()
	if w.made.has(key) {
		return nil, status.Errorf(codes.AlreadyExists, "a VM named %q already exists", req.GetTargetName())
	}
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		w.made.add(key)
	}
	return resp, err
}

// powerOffV1 stops a VM behind the client's back, as a side effect of another operation.
func powerOffV1(ctx context.Context, p providerv1.ProviderServer, id string) {
	_, _ = p.Power(ctx, &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_OFF})
}

// v1ReconfigureLeavesOff stops a running VM to apply a new size and never starts it again,
// while advertising online reconfigure.
type v1ReconfigureLeavesOff struct{ providerv1.ProviderServer }

func (w v1ReconfigureLeavesOff) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err == nil {
		powerOffV1(ctx, w.ProviderServer, req.GetId())
	}
	return resp, err
}

// v1SnapshotLeavesOff stops the VM to take a consistent snapshot and never starts it again.
type v1SnapshotLeavesOff struct{ providerv1.ProviderServer }

func (w v1SnapshotLeavesOff) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		powerOffV1(ctx, w.ProviderServer, req.GetVmId())
	}
	return resp, err
}

// v1CloneStopsSource stops the source to copy its disks and never starts it again.
type v1CloneStopsSource struct{ providerv1.ProviderServer }

func (w v1CloneStopsSource) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		powerOffV1(ctx, w.ProviderServer, req.GetSourceVmId())
	}
	return resp, err
}

// --- capabilities, create and list: the remaining rules ------------------------------------

// v1UnstableCapabilities lists each disk type with the free space of its datastore, which
// changes between two calls.
type v1UnstableCapabilities struct {
	providerv1.ProviderServer
	calls *atomic.Int64
}

func (w v1UnstableCapabilities) GetCapabilities(ctx context.Context, req *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.GetCapabilitiesResponse)
	free := 500 - w.calls.Add(1)
	resp.SupportedDiskTypes = []string{fmt.Sprintf("thin (%d GiB free)", free), fmt.Sprintf("thick (%d GiB free)", free)}
	return resp, nil
}

// unnamed is the name a provider makes up for a VM created without one.
func unnamed() string { return "unnamed-" + uuid.NewString()[:8] }

// v1NamelessCreate makes a name up when the request has none.
type v1NamelessCreate struct{ providerv1.ProviderServer }

func (w v1NamelessCreate) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if req.GetName() == "" {
		req = proto.Clone(req).(*providerv1.CreateRequest)
		req.Name = unnamed()
	}
	return w.ProviderServer.Create(ctx, req)
}

// inventoryPath is how a vSphere-backed provider names a VM: by its inventory path.
func inventoryPath(name string) string { return "/dc1/vm/" + name }

// v1ListInventoryPaths lists VMs under their inventory path instead of their name.
type v1ListInventoryPaths struct{ providerv1.ProviderServer }

func (w v1ListInventoryPaths) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		vm.Name = inventoryPath(vm.GetName())
	}
	return resp, nil
}

// v1CollidingCreates: creates that overlap in time share the first one's id (see collider).
type v1CollidingCreates struct {
	providerv1.ProviderServer
	c *collider
}

func (w v1CollidingCreates) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	var resp *providerv1.CreateResponse
	id, err := w.c.create(func() (string, error) {
		var err error
		resp, err = w.ProviderServer.Create(ctx, req)
		return resp.GetId(), err
	}, func(id string) {
		_, _ = w.ProviderServer.Delete(context.WithoutCancel(ctx), &providerv1.DeleteRequest{Id: id})
	})
	if err != nil {
		return nil, err
	}
	return &providerv1.CreateResponse{Id: id, Task: resp.GetTask()}, nil
}

// v1IDsAsPaths resolves ids as file paths (see pathID) before looking VMs up.
type v1IDsAsPaths struct{ providerv1.ProviderServer }

func (w v1IDsAsPaths) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	return w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: pathID(req.GetId())})
}

func (w v1IDsAsPaths) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	return w.ProviderServer.Delete(ctx, &providerv1.DeleteRequest{Id: pathID(req.GetId())})
}

func (w v1IDsAsPaths) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	r := proto.Clone(req).(*providerv1.PowerRequest)
	r.Id = pathID(r.GetId())
	return w.ProviderServer.Power(ctx, r)
}

func (w v1IDsAsPaths) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	r := proto.Clone(req).(*providerv1.ReconfigureRequest)
	r.Id = pathID(r.GetId())
	return w.ProviderServer.Reconfigure(ctx, r)
}

func (w v1IDsAsPaths) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	return w.ProviderServer.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: pathID(req.GetVmId()), SnapshotId: pathID(req.GetSnapshotId())})
}

func (w v1IDsAsPaths) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	return w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: pathID(req.GetVmId()), SnapshotId: pathID(req.GetSnapshotId())})
}

// --- the second-look rules (CORE-041/042/043, CLONE-014, SNAP-019) -------------------------

// v1IDNamed is the id of the VM the list shows under name, or "".
func v1IDNamed(ctx context.Context, p providerv1.ProviderServer, name string) string {
	list, err := p.ListVMs(ctx, &providerv1.ListVMsRequest{})
	if err != nil {
		return ""
	}
	for _, vm := range list.GetVms() {
		if vm.GetName() == name {
			return vm.GetId()
		}
	}
	return ""
}

// v1CreateRetryStartsVM treats a repeated create as "make it run": it powers the existing VM on.
type v1CreateRetryStartsVM struct{ providerv1.ProviderServer }

func (w v1CreateRetryStartsVM) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	existed := req.GetName() != "" && v1IDNamed(ctx, w.ProviderServer, req.GetName()) != ""
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil && existed {
		_, _ = w.ProviderServer.Power(ctx, &providerv1.PowerRequest{Id: resp.GetId(), Op: providerv1.PowerOp_POWER_OP_ON})
	}
	return resp, err
}

// v1DeleteKeepsName keeps a deleted VM's name in its name index: a later create of that name
// answers with the id of the VM that is gone.
type v1DeleteKeepsName struct {
	providerv1.ProviderServer
	gone *nameIDs
}

func (w v1DeleteKeepsName) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	var name string
	if list, err := w.ProviderServer.ListVMs(ctx, &providerv1.ListVMsRequest{}); err == nil {
		for _, vm := range list.GetVms() {
			if vm.GetId() == req.GetId() {
				name = vm.GetName()
			}
		}
	}
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil && name != "" {
		w.gone.set(name, req.GetId())
	}
	return resp, err
}

func (w v1DeleteKeepsName) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if id, ok := w.gone.get(req.GetName()); ok {
		return &providerv1.CreateResponse{Id: id}, nil
	}
	return w.ProviderServer.Create(ctx, req)
}

// v1ReconfigureStartsVM powers a VM on after changing its size, stopped or not.
type v1ReconfigureStartsVM struct{ providerv1.ProviderServer }

func (w v1ReconfigureStartsVM) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err == nil {
		_, _ = w.ProviderServer.Power(ctx, &providerv1.PowerRequest{Id: req.GetId(), Op: providerv1.PowerOp_POWER_OP_ON})
	}
	return resp, err
}

// v1CloneToTakenName answers a clone to a name any VM holds with that VM's id, as if it were
// the clone.
type v1CloneToTakenName struct{ providerv1.ProviderServer }

func (w v1CloneToTakenName) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetSourceVmId() != "" && req.GetTargetName() != "" {
		if id := v1IDNamed(ctx, w.ProviderServer, req.GetTargetName()); id != "" {
			return &providerv1.CloneResponse{TargetVmId: id}, nil
		}
	}
	return w.ProviderServer.Clone(ctx, req)
}

// v1SnapshotDeleteIgnoresVM finds a snapshot by its id alone and deletes it from whichever VM
// it belongs to.
type v1SnapshotDeleteIgnoresVM struct {
	providerv1.ProviderServer
	owner *owners
}

func (w v1SnapshotDeleteIgnoresVM) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.owner.set(resp.GetSnapshotId(), req.GetVmId())
	}
	return resp, err
}

func (w v1SnapshotDeleteIgnoresVM) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if vm, ok := w.owner.get(req.GetSnapshotId()); ok && req.GetVmId() != "" {
		req = &providerv1.SnapshotDeleteRequest{VmId: vm, SnapshotId: req.GetSnapshotId()}
	}
	return w.ProviderServer.SnapshotDelete(ctx, req)
}

// v1ClassKeysStrict refuses a class with any key besides CPU and MemoryMiB, so it refuses the
// manager's whole VMClass.
type v1ClassKeysStrict struct{ providerv1.ProviderServer }

func (w v1ClassKeysStrict) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	var class map[string]json.RawMessage
	if json.Unmarshal([]byte(req.GetClassJson()), &class) == nil {
		for k := range class {
			if k != "CPU" && k != "MemoryMiB" {
				return nil, status.Errorf(codes.InvalidArgument, "class_json: unknown key %q", k)
			}
		}
	}
	return w.ProviderServer.Create(ctx, req)
}

// v1CloneOverrideDefaultsMemory takes a clone override without memory as "1Gi" instead of
// the source's memory.
type v1CloneOverrideDefaultsMemory struct{ providerv1.ProviderServer }

func (w v1CloneOverrideDefaultsMemory) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	var class map[string]json.RawMessage
	if json.Unmarshal([]byte(req.GetClassJson()), &class) == nil && class["cpu"] != nil && class["memory"] == nil {
		class["memory"] = json.RawMessage(`"1Gi"`)
		b, _ := json.Marshal(class)
		full := proto.Clone(req).(*providerv1.CloneRequest)
		full.ClassJson = string(b)
		req = full
	}
	return w.ProviderServer.Clone(ctx, req)
}
