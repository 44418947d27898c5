package brokenprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the eighth mutation round: the tutorial dialect's own vocabulary (DeleteVM's
// success flag, GetVM of a VM that is gone, transitional states that never end, a capability
// misspelled, a diff-based UpdateVM) and the less-used parts of the v1 wire protocol (what a
// task id names and whether its status is stable, Describe's free-form fields, Validate on
// later calls, the capability lists and the disk RPCs nobody advertises).

// round8Catalog lists the defects of this file; Catalog appends them.
func round8Catalog() []Defect {
	return []Defect{
		// tutorial dialect first (most also expressible in v1)
		{
			Name: "delete-unknown-success-false", Family: Delete,
			Bug: "deleting a VM that is not there is reported as a failure: tutorial DeleteVM answers OK with " +
				"success=false (\"vm not found\"); v1 Delete answers a task that ends with error \"vm not found\"",
			V1:       func(p v1Server) v1Server { return v1DeleteUnknownTaskError{p, &idSet{}} },
			Tutorial: func(p tutServer) tutServer { return tutDeleteUnknownSuccessFalse{p} },
		},
		{
			Name: "get-unknown-empty-record", Family: Describe,
			Bug: "GetVM of an id it has no VM for (never created, or deleted) answers OK with an empty record " +
				"(no id, no name, no spec, no status) instead of NotFound",
			Tutorial: func(p tutServer) tutServer { return tutGetUnknownEmpty{p} },
		},
		{
			Name: "update-memory-only-ignored", Family: Reconfigure,
			Bug: "the update is diff-based and only looks at the CPU count to decide whether anything changed: a " +
				"change of memory alone answers OK and does nothing",
			V1:       func(p v1Server) v1Server { return v1MemoryOnlyIgnored{p} },
			Tutorial: func(p tutServer) tutServer { return tutMemoryOnlyIgnored{p} },
		},
		{
			Name: "reboot-stuck-rebooting", Family: Power,
			Bug: "after PowerVM REBOOT the VM is reported Rebooting forever (the state is never refreshed once the " +
				"guest is back); the next ON or OFF clears it",
			Tutorial: func(p tutServer) tutServer { return tutRebootStuck{p, &sync.Map{}} },
		},
		{
			Name: "list-power-blank-when-off", Family: List,
			Bug: "the VM list fills the power state from the running-domain query only: a stopped VM is listed " +
				"with no power state at all (v1 power_state \"\"; tutorial no status)",
			V1:       func(p v1Server) v1Server { return v1ListPowerBlankWhenOff{p} },
			Tutorial: func(p tutServer) tutServer { return tutListStatusBlankWhenOff{p} },
		},
		{
			Name: "capability-snapshot-misspelled", Family: Capabilities,
			Bug: "the snapshot capability is named \"vm.snapshots\" instead of \"vm.snapshot\", so a manager " +
				"never sees snapshots offered although CreateSnapshot works",
			Tutorial: func(p tutServer) tutServer { return tutRenameCapability{p, "vm.snapshot", "vm.snapshots"} },
		},
		{
			Name: "clone-stuck-creating", Family: Clone,
			Bug: "the clone is made, but its creation is never marked finished: tutorial GetVM/ListVMs report it " +
				"Creating forever; v1 the Clone task stays done=false",
			V1:       func(p v1Server) v1Server { return v1CloneTaskNeverDone{p, &idSet{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneStuckCreating{p, &idSet{}} },
		},
		// v1 wire protocol
		{
			Name: "task-id-is-vm-id", Family: Tasks,
			Bug: "the task id handed out is the VM's id: TaskStatus of it reports the VM's latest operation, so " +
				"an earlier operation's task takes over the state of any later one on the same VM",
			V1: func(p v1Server) v1Server { return &v1TaskIDIsVMID{ProviderServer: p} },
		},
		{
			Name: "task-done-flips-back", Family: Tasks,
			Bug: "TaskStatus reads the hypervisor's recent-tasks list, from which a finished task drops after " +
				"its first read: later polls of a finished task answer done=false",
			V1: func(p v1Server) v1Server { return v1TaskStatusAfterDone{p, &sync.Map{}, false} },
		},
		{
			Name: "task-error-after-done", Family: Tasks,
			Bug: "as task-done-flips-back, but the dropped task is reported as failed: later polls of a task " +
				"that finished cleanly answer done=true with error \"task not in recent tasks\"",
			V1: func(p v1Server) v1Server { return v1TaskStatusAfterDone{p, &sync.Map{}, true} },
		},
		{
			Name: "power-state-lowercase-after-graceful", Family: Describe,
			Bug: "a VM stopped by a graceful shutdown is reported with the guest agent's \"off\" (lower case) in " +
				"Describe and ListVMs until its next power operation",
			V1: func(p v1Server) v1Server { return v1LowercaseAfterGraceful{p, &sync.Map{}} },
		},
		{
			Name: "describe-ips-console-garbage", Family: Describe,
			Bug: "Describe formats absent values instead of omitting them: ips is [\"<nil>\"] (fmt of a nil " +
				"net.IP) and console_url \"vnc://:-1\" (no graphics device)",
			V1: func(p v1Server) v1Server { return v1DescribeGarbageFields{p} },
		},
		{
			Name: "describe-raw-json-not-json", Family: Describe,
			Bug: "provider_raw_json is the record printed with fmt (\"map[cpu:2 memoryMiB:2048 ...]\"), not JSON",
			V1:  func(p v1Server) v1Server { return v1RawJSONNotJSON{p} },
		},
		{
			Name: "validate-fails-after-first", Family: Validate,
			Bug: "Validate logs out of the shared hypervisor session when it returns (defer Logout): the first " +
				"Validate answers ok=true, every later one ok=false with an empty message",
			V1: func(p v1Server) v1Server { return v1ValidateFailsAfterFirst{p, &atomic.Int64{}} },
		},
		{
			Name: "capability-type-lists-blank", Family: Capabilities,
			Bug: "supported_disk_types and supported_network_types come from strings.Split of an unset setting: " +
				"each lists one empty string",
			V1: func(p v1Server) v1Server {
				return v1Capabilities{p, func(c *providerv1.GetCapabilitiesResponse) {
					c.SupportedDiskTypes = []string{""}
					c.SupportedNetworkTypes = []string{""}
				}}
			},
		},
		{
			Name: "capability-listed-twice", Family: Capabilities,
			Bug: "vm.power is registered twice, once as supported and once (a leftover of a feature flag) as " +
				"not: the capability list names it twice with opposite answers",
			Tutorial: func(p tutServer) tutServer { return tutCapabilityTwice{p, "vm.power"} },
		},
		{
			Name: "capability-update-unadvertised", Family: Capabilities,
			Bug: "vm.update is listed as not supported (its entry was copied from vm.snapshot's template), " +
				"while UpdateVM works",
			Tutorial: func(p tutServer) tutServer { return tutHideCapability{p, "vm.update"} },
		},
		{
			Name: "capabilities-empty", Family: Capabilities,
			Bug: "GetCapabilities answers an empty list: the capabilities are filled in by an init function " +
				"that the provider's main never calls",
			Tutorial: func(p tutServer) tutServer { return tutNoCapabilities{p} },
		},
		{
			Name: "unadvertised-disk-calls-ok", Family: Capabilities,
			Bug: "HardwareUpgrade, GetDiskInfo, ExportDisk and ImportDisk are generated stubs that answer OK with " +
				"an empty response (even to an empty request), while GetCapabilities advertises none of them",
			V1: func(p v1Server) v1Server { return v1DiskStubsOK{p} },
		},
	}
}

// --- delete -------------------------------------------------------------------------------

type tutDeleteUnknownSuccessFalse struct {
	tutorialv1.ProviderServiceServer
}

func (w tutDeleteUnknownSuccessFalse) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	_, err := w.ProviderServiceServer.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: req.GetVmId()})
	if status.Code(err) == codes.NotFound {
		return &tutorialv1.DeleteVMResponse{Success: false, Message: "vm not found"}, nil
	}
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}

// v1DeleteUnknownTaskError answers a delete of a VM that is not there with a task that fails.
type v1DeleteUnknownTaskError struct {
	providerv1.ProviderServer
	failed *idSet
}

func (w v1DeleteUnknownTaskError) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	d, derr := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil && derr == nil && !d.GetExists() && resp.GetTask().GetId() != "" {
		w.failed.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1DeleteUnknownTaskError) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && resp.GetDone() && w.failed.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: true, Error: "vm not found"}, nil
	}
	return resp, err
}

// --- describe -----------------------------------------------------------------------------

type tutGetUnknownEmpty struct {
	tutorialv1.ProviderServiceServer
}

func (w tutGetUnknownEmpty) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if status.Code(err) == codes.NotFound {
		return &tutorialv1.GetVMResponse{}, nil
	}
	return resp, err
}

// v1LowercaseAfterGraceful reports "off" for VMs a graceful shutdown stopped.
type v1LowercaseAfterGraceful struct {
	providerv1.ProviderServer
	graceful *sync.Map // vm id → true
}

func (w v1LowercaseAfterGraceful) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if err == nil {
		if req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL {
			w.graceful.Store(req.GetId(), true)
		} else {
			w.graceful.Delete(req.GetId())
		}
	}
	return resp, err
}

func (w v1LowercaseAfterGraceful) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() {
		return resp, err
	}
	if _, ok := w.graceful.Load(req.GetId()); ok && resp.GetPowerState() == "Off" {
		resp = proto.Clone(resp).(*providerv1.DescribeResponse)
		resp.PowerState = "off"
	}
	return resp, nil
}

func (w v1LowercaseAfterGraceful) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if _, ok := w.graceful.Load(vm.GetId()); ok && vm.GetPowerState() == "Off" {
			vm.PowerState = "off"
		}
	}
	return resp, nil
}

type v1DescribeGarbageFields struct{ providerv1.ProviderServer }

func (w v1DescribeGarbageFields) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() {
		return resp, err
	}
	resp = proto.Clone(resp).(*providerv1.DescribeResponse)
	resp.Ips = []string{"<nil>"}
	resp.ConsoleUrl = "vnc://:-1"
	return resp, nil
}

type v1RawJSONNotJSON struct{ providerv1.ProviderServer }

func (w v1RawJSONNotJSON) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() || resp.GetProviderRawJson() == "" {
		return resp, err
	}
	var record map[string]any
	if json.Unmarshal([]byte(resp.GetProviderRawJson()), &record) != nil {
		return resp, nil
	}
	resp = proto.Clone(resp).(*providerv1.DescribeResponse)
	resp.ProviderRawJson = fmt.Sprint(record)
	return resp, nil
}

// --- reconfigure --------------------------------------------------------------------------

type tutMemoryOnlyIgnored struct {
	tutorialv1.ProviderServiceServer
}

func (w tutMemoryOnlyIgnored) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	cur, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	if ok && req.GetSpec() != nil && req.GetSpec().GetCpu() == cur.GetSpec().GetCpu() &&
		req.GetSpec().GetMemory() > 0 {
		return &tutorialv1.UpdateVMResponse{Status: cur.GetStatus()}, nil
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

type v1MemoryOnlyIgnored struct{ providerv1.ProviderServer }

func (w v1MemoryOnlyIgnored) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	var desired struct {
		Class struct {
			CPU       *json.Number
			MemoryMiB *json.Number
		}
	}
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) == nil && desired.Class.CPU != nil && desired.Class.MemoryMiB != nil {
		cpu, cerr := desired.Class.CPU.Int64()
		mem, merr := desired.Class.MemoryMiB.Int64()
		if vm, ok := describeV1(ctx, w.ProviderServer, req.GetId()); ok && cerr == nil && merr == nil && mem > 0 && cpu == int64(vm.CPU) {
			return w.ProviderServer.Reconfigure(ctx, keepDesiredClassKey(ctx, w.ProviderServer, req, "MemoryMiB"))
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// --- power --------------------------------------------------------------------------------

// tutRebootStuck reports a rebooted VM as Rebooting until its next ON or OFF.
type tutRebootStuck struct {
	tutorialv1.ProviderServiceServer
	rebooted *sync.Map
}

const tutorialRebooting = "Rebooting"

func (w tutRebootStuck) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_REBOOT {
		w.rebooted.Store(req.GetVmId(), true)
		return &tutorialv1.PowerVMResponse{Status: &tutorialv1.VMStatus{State: tutorialRebooting, Message: "vm is rebooting"}}, nil
	}
	w.rebooted.Delete(req.GetVmId())
	return resp, nil
}

func (w tutRebootStuck) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	w.rebooted.Delete(req.GetVmId())
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}

func (w tutRebootStuck) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return nil, err
	}
	if _, ok := w.rebooted.Load(req.GetVmId()); ok {
		resp = proto.Clone(resp).(*tutorialv1.GetVMResponse)
		resp.Status = &tutorialv1.VMStatus{State: tutorialRebooting, Message: "vm is rebooting"}
	}
	return resp, nil
}

func (w tutRebootStuck) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if _, ok := w.rebooted.Load(vm.GetVmId()); ok {
			vm.Status = &tutorialv1.VMStatus{State: tutorialRebooting, Message: "vm is rebooting"}
		}
	}
	return resp, nil
}

// --- list ---------------------------------------------------------------------------------

type v1ListPowerBlankWhenOff struct{ providerv1.ProviderServer }

func (w v1ListPowerBlankWhenOff) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if vm.GetPowerState() != "On" {
			vm.PowerState = ""
		}
	}
	return resp, nil
}

type tutListStatusBlankWhenOff struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListStatusBlankWhenOff) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if vm.GetStatus().GetState() != tutorialRunning {
			vm.Status = nil
		}
	}
	return resp, nil
}

// --- capabilities -------------------------------------------------------------------------

type tutRenameCapability struct {
	tutorialv1.ProviderServiceServer
	from, to string
}

func (w tutRenameCapability) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	for _, c := range resp.GetCapabilities() {
		if c.GetName() == w.from {
			c.Name = w.to
		}
	}
	return resp, nil
}

// tutNoCapabilities answers GetCapabilities with the provider id and no capability.
type tutNoCapabilities struct {
	tutorialv1.ProviderServiceServer
}

func (w tutNoCapabilities) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	return &tutorialv1.GetCapabilitiesResponse{ProviderId: resp.GetProviderId()}, nil
}

// tutCapabilityTwice lists the capability named name a second time, unsupported.
type tutCapabilityTwice struct {
	tutorialv1.ProviderServiceServer
	name string
}

func (w tutCapabilityTwice) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	resp.Capabilities = append(resp.Capabilities, &tutorialv1.Capability{Name: w.name, Supported: false, Description: "disabled"})
	return resp, nil
}

// v1DiskStubsOK answers the disk and hardware-version RPCs as generated stubs that were filled
// with "return &Response{}, nil".
type v1DiskStubsOK struct{ providerv1.ProviderServer }

func (v1DiskStubsOK) HardwareUpgrade(context.Context, *providerv1.HardwareUpgradeRequest) (*providerv1.TaskResponse, error) {
	return &providerv1.TaskResponse{}, nil
}

func (v1DiskStubsOK) GetDiskInfo(context.Context, *providerv1.GetDiskInfoRequest) (*providerv1.GetDiskInfoResponse, error) {
	return &providerv1.GetDiskInfoResponse{}, nil
}

func (v1DiskStubsOK) ExportDisk(context.Context, *providerv1.ExportDiskRequest) (*providerv1.ExportDiskResponse, error) {
	return &providerv1.ExportDiskResponse{}, nil
}

func (v1DiskStubsOK) ImportDisk(context.Context, *providerv1.ImportDiskRequest) (*providerv1.ImportDiskResponse, error) {
	return &providerv1.ImportDiskResponse{}, nil
}

// --- validate -----------------------------------------------------------------------------

type v1ValidateFailsAfterFirst struct {
	providerv1.ProviderServer
	calls *atomic.Int64
}

func (w v1ValidateFailsAfterFirst) Validate(ctx context.Context, req *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	if w.calls.Add(1) > 1 {
		return &providerv1.ValidateResponse{Ok: false}, nil
	}
	return w.ProviderServer.Validate(ctx, req)
}

// --- clone --------------------------------------------------------------------------------

type tutCloneStuckCreating struct {
	tutorialv1.ProviderServiceServer
	clones *idSet
}

const tutorialCreating = "Creating"

func (w tutCloneStuckCreating) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err != nil {
		return nil, err
	}
	w.clones.add(resp.GetCloneVmId())
	return &tutorialv1.CloneVMResponse{CloneVmId: resp.GetCloneVmId(),
		Status: &tutorialv1.TaskStatus{State: "Running", Message: "clone is being created"}}, nil
}

func (w tutCloneStuckCreating) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return nil, err
	}
	if w.clones.has(req.GetVmId()) {
		resp = proto.Clone(resp).(*tutorialv1.GetVMResponse)
		resp.Status = &tutorialv1.VMStatus{State: tutorialCreating, Message: "vm is being created"}
	}
	return resp, nil
}

func (w tutCloneStuckCreating) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range resp.GetVms() {
		if w.clones.has(vm.GetVmId()) {
			vm.Status = &tutorialv1.VMStatus{State: tutorialCreating, Message: "vm is being created"}
		}
	}
	return resp, nil
}

type v1CloneTaskNeverDone struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1CloneTaskNeverDone) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1CloneTaskNeverDone) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: false}, nil
	}
	return resp, err
}

// --- tasks --------------------------------------------------------------------------------

// v1TaskIDIsVMID hands out the VM's id as the task id of every operation on it; TaskStatus of
// a VM id answers for the latest real task of that VM.
type v1TaskIDIsVMID struct {
	providerv1.ProviderServer
	mu     sync.Mutex
	latest map[string]string // vm id → the real task id of its latest operation
}

// retask records a real task under the VM id and answers the VM id instead.
func (w *v1TaskIDIsVMID) retask(vmID string, ref *providerv1.TaskRef) *providerv1.TaskRef {
	if ref.GetId() == "" || vmID == "" {
		return ref
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latest == nil {
		w.latest = map[string]string{}
	}
	w.latest[vmID] = ref.GetId()
	return &providerv1.TaskRef{Id: vmID}
}

func (w *v1TaskIDIsVMID) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err != nil {
		return nil, err
	}
	return &providerv1.CreateResponse{Id: resp.GetId(), Task: w.retask(resp.GetId(), resp.GetTask())}, nil
}

func (w *v1TaskIDIsVMID) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err != nil {
		return nil, err
	}
	return &providerv1.CloneResponse{TargetVmId: resp.GetTargetVmId(), Task: w.retask(resp.GetTargetVmId(), resp.GetTask())}, nil
}

func (w *v1TaskIDIsVMID) taskResponse(vmID string, resp *providerv1.TaskResponse, err error) (*providerv1.TaskResponse, error) {
	if err != nil {
		return nil, err
	}
	return &providerv1.TaskResponse{Task: w.retask(vmID, resp.GetTask())}, nil
}

func (w *v1TaskIDIsVMID) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	return w.taskResponse(req.GetId(), resp, err)
}

func (w *v1TaskIDIsVMID) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	return w.taskResponse(req.GetId(), resp, err)
}

func (w *v1TaskIDIsVMID) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Delete(ctx, req)
	return w.taskResponse(req.GetId(), resp, err)
}

func (w *v1TaskIDIsVMID) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	return w.taskResponse(req.GetVmId(), resp, err)
}

func (w *v1TaskIDIsVMID) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, req)
	return w.taskResponse(req.GetVmId(), resp, err)
}

func (w *v1TaskIDIsVMID) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err != nil {
		return nil, err
	}
	return &providerv1.SnapshotCreateResponse{SnapshotId: resp.GetSnapshotId(), Task: w.retask(req.GetVmId(), resp.GetTask())}, nil
}

func (w *v1TaskIDIsVMID) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	w.mu.Lock()
	real, ok := w.latest[req.GetTask().GetId()]
	w.mu.Unlock()
	if ok {
		return w.ProviderServer.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: real}})
	}
	return w.ProviderServer.TaskStatus(ctx, req)
}

// v1TaskStatusAfterDone answers a finished task truthfully once; later polls get done=false
// (or, with failAfter, done=true and an error).
type v1TaskStatusAfterDone struct {
	providerv1.ProviderServer
	reported  *sync.Map // task id → true once done was answered
	failAfter bool
}

func (w v1TaskStatusAfterDone) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err != nil || !resp.GetDone() || resp.GetError() != "" {
		return resp, err
	}
	if _, seen := w.reported.LoadOrStore(req.GetTask().GetId(), true); !seen {
		return resp, nil
	}
	if w.failAfter {
		return &providerv1.TaskStatusResponse{Done: true, Error: "task not in recent tasks"}, nil
	}
	return &providerv1.TaskStatusResponse{Done: false}, nil
}
