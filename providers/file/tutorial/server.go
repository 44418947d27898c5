// Package tutorial serves the file provider over the typed API of VirtRigaud's developer
// tutorial (virtrigaud.tutorial.v1.ProviderService). It shares the service, and so every VM,
// with the v1 wire adapter.
package tutorial

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/errmap"
	"github.com/vctsio/vcts/providers/file/service"
)

// ProviderID is what GetCapabilities answers as provider_id.
const ProviderID = "file"

// Task states of the tutorial API.
const (
	taskCompleted = "Completed"
	taskRunning   = "Running"
)

// Server implements tutorialv1.ProviderServiceServer.
type Server struct {
	tutorialv1.UnimplementedProviderServiceServer

	svc *service.Service
	log *slog.Logger
}

// New returns a server over svc.
func New(svc *service.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

func (s *Server) fail(ctx context.Context, method string, err error) error {
	return errmap.Status(ctx, s.log, method, err)
}

var capabilities = []*tutorialv1.Capability{
	{Name: "vm.create", Supported: true, Description: "CreateVM; idempotent by name"},
	{Name: "vm.read", Supported: true, Description: "GetVM and ListVMs"},
	{Name: "vm.update", Supported: true, Description: "UpdateVM replaces cpu, memory and image, in any power state"},
	{Name: "vm.delete", Supported: true, Description: "DeleteVM removes the VM and its snapshots; idempotent"},
	{Name: "vm.power", Supported: true, Description: "PowerVM ON, OFF and REBOOT"},
	{Name: "vm.snapshot", Supported: true, Description: "CreateSnapshot records cpu, memory, image, disks and power state"},
	{Name: "vm.clone", Supported: true, Description: "CloneVM makes a full, independent copy"},
}

// GetCapabilities lists what this server implements.
func (s *Server) GetCapabilities(context.Context, *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	return &tutorialv1.GetCapabilitiesResponse{ProviderId: ProviderID, Capabilities: capabilities}, nil
}

// CreateVM creates a VM; creating an existing name returns that VM unchanged.
func (s *Server) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if err := domain.ValidateName(req.GetName()); err != nil {
		return nil, s.fail(ctx, "CreateVM", err)
	}
	spec := req.GetSpec()
	if spec == nil {
		return nil, status.Error(codes.InvalidArgument, "spec is required")
	}
	vm, created, err := s.svc.Create(service.CreateRequest{
		Name: req.GetName(),
		Spec: domain.Spec{CPU: spec.GetCpu(), MemoryMiB: spec.GetMemory(), Image: domain.Image{TemplateName: spec.GetImage()}},
	})
	if err != nil {
		return nil, s.fail(ctx, "CreateVM", err)
	}
	if created {
		s.log.InfoContext(ctx, "vm created", "id", vm.ID, "name", vm.Name, "cpu", vm.Spec.CPU, "memoryMiB", vm.Spec.MemoryMiB)
	}
	return &tutorialv1.CreateVMResponse{VmId: vm.ID, Status: s.status(vm)}, nil
}

// GetVM describes one VM; an unknown id is NotFound, a malformed one InvalidArgument.
func (s *Server) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	vm, err := s.svc.Get(req.GetVmId())
	if err != nil {
		return nil, s.fail(ctx, "GetVM", err)
	}
	return &tutorialv1.GetVMResponse{VmId: vm.ID, Name: vm.Name, Spec: vmSpec(vm), Status: s.status(vm)}, nil
}

// UpdateVM replaces cpu, memory and image; disks (which the tutorial API cannot express)
// are kept.
func (s *Server) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if err := domain.ValidateID("vm", req.GetVmId()); err != nil {
		return nil, s.fail(ctx, "UpdateVM", err)
	}
	spec := req.GetSpec()
	if spec == nil {
		return nil, status.Error(codes.InvalidArgument, "spec is required")
	}
	// Zero would mean "keep" to the service; here the whole spec is replaced, so it is an error.
	if err := domain.ValidateCPU(int64(spec.GetCpu())); err != nil {
		return nil, s.fail(ctx, "UpdateVM", err)
	}
	if err := domain.ValidateMemoryMiB(spec.GetMemory()); err != nil {
		return nil, s.fail(ctx, "UpdateVM", err)
	}
	// The tutorial sees one image string; only a changed one replaces the richer image a
	// VM created over the v1 API may have.
	image := spec.GetImage()
	change := service.Change{CPU: spec.GetCpu(), MemoryMiB: spec.GetMemory(), ImageName: &image}
	vm, err := s.svc.Reconfigure(req.GetVmId(), change)
	if err != nil {
		return nil, s.fail(ctx, "UpdateVM", err)
	}
	return &tutorialv1.UpdateVMResponse{Status: s.status(vm)}, nil
}

// DeleteVM deletes a VM and its snapshots; deleting an unknown VM succeeds.
func (s *Server) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	existed, err := s.svc.Delete(req.GetVmId())
	if err != nil {
		return nil, s.fail(ctx, "DeleteVM", err)
	}
	if !existed {
		return &tutorialv1.DeleteVMResponse{Success: true, Message: "vm not found; nothing to delete"}, nil
	}
	s.log.InfoContext(ctx, "vm deleted", "id", req.GetVmId())
	return &tutorialv1.DeleteVMResponse{Success: true, Message: "vm deleted"}, nil
}

var powerOps = map[tutorialv1.PowerOp]domain.PowerOp{
	tutorialv1.PowerOp_POWER_OP_ON:     domain.OpOn,
	tutorialv1.PowerOp_POWER_OP_OFF:    domain.OpOff,
	tutorialv1.PowerOp_POWER_OP_REBOOT: domain.OpReboot,
}

// PowerVM changes the power state: ON ends Running, OFF Stopped, REBOOT passes through
// Rebooting (for the transition delay) and ends Running.
func (s *Server) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if err := domain.ValidateID("vm", req.GetVmId()); err != nil {
		return nil, s.fail(ctx, "PowerVM", err)
	}
	op, ok := powerOps[req.GetPowerOp()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "power_op %d (%s) is not one of ON, OFF, REBOOT",
			int32(req.GetPowerOp()), req.GetPowerOp())
	}
	vm, err := s.svc.Power(req.GetVmId(), op)
	if err != nil {
		return nil, s.fail(ctx, "PowerVM", err)
	}
	return &tutorialv1.PowerVMResponse{Status: s.status(vm)}, nil
}

// ListVMs lists every VM, sorted by name.
func (s *Server) ListVMs(context.Context, *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	vms := s.svc.List()
	out := make([]*tutorialv1.VMSummary, 0, len(vms))
	for _, vm := range vms {
		out = append(out, &tutorialv1.VMSummary{VmId: vm.ID, Name: vm.Name, Status: s.status(vm)})
	}
	return &tutorialv1.ListVMsResponse{Vms: out}, nil
}

// CreateSnapshot records the spec and power state of a VM; it completes synchronously.
func (s *Server) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	snap, err := s.svc.SnapshotCreate(req.GetVmId(), req.GetName(), req.GetDescription())
	if err != nil {
		return nil, s.fail(ctx, "CreateSnapshot", err)
	}
	return &tutorialv1.CreateSnapshotResponse{
		SnapshotId: snap.ID,
		Status:     &tutorialv1.TaskStatus{State: taskCompleted, Message: "snapshot recorded"},
	}, nil
}

// CloneVM copies a VM. The task is Completed once the clone is Running; while it is still
// Creating (a transition delay is configured) it is Running, and GetVM shows the clone's
// progress. Cloning to the name of an earlier clone of the same source returns that clone;
// to any other existing name, AlreadyExists.
func (s *Server) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	if err := domain.ValidateID("source vm", req.GetSourceVmId()); err != nil {
		return nil, s.fail(ctx, "CloneVM", err)
	}
	if err := domain.ValidateName(req.GetCloneName()); err != nil {
		return nil, s.fail(ctx, "CloneVM", domain.InvalidArgument("clone_name: %v", err))
	}
	vm, created, err := s.svc.Clone(req.GetSourceVmId(), req.GetCloneName(), service.Change{})
	if err != nil {
		return nil, s.fail(ctx, "CloneVM", err)
	}
	if created {
		s.log.InfoContext(ctx, "vm cloned", "source", req.GetSourceVmId(), "id", vm.ID, "name", vm.Name)
	}
	st := &tutorialv1.TaskStatus{State: taskCompleted, Message: "clone created"}
	if vm.StateAt(s.svc.Now()) == domain.StateCreating {
		st = &tutorialv1.TaskStatus{State: taskRunning, Message: "clone is being created"}
	}
	return &tutorialv1.CloneVMResponse{CloneVmId: vm.ID, Status: st}, nil
}

func (s *Server) status(vm domain.VM) *tutorialv1.VMStatus {
	st := vm.StateAt(s.svc.Now())
	return &tutorialv1.VMStatus{State: string(st), Message: stateMessages[st]}
}

var stateMessages = map[domain.State]string{
	domain.StateCreating:  "vm is being created",
	domain.StateRunning:   "vm is running",
	domain.StateStopped:   "vm is stopped",
	domain.StateRebooting: "vm is rebooting",
}

func vmSpec(vm domain.VM) *tutorialv1.VMSpec {
	return &tutorialv1.VMSpec{Cpu: vm.Spec.CPU, Memory: vm.Spec.MemoryMiB, Image: vm.Spec.Image.Name()}
}
