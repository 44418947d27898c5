// Package wirev1 serves the file provider over VirtRigaud's v1 wire protocol
// (provider.v1.Provider). It translates wire shapes to service calls and domain errors to
// precise gRPC codes; the rules live in the service and domain packages.
package wirev1

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/errmap"
	"github.com/vctsio/vcts/providers/file/service"
	"github.com/vctsio/vcts/providers/file/tasks"
)

// Server implements providerv1.ProviderServer.
type Server struct {
	providerv1.UnimplementedProviderServer

	svc   *service.Service
	tasks *tasks.Registry
	log   *slog.Logger
}

// New returns a server over svc; its tasks are kept in reg.
func New(svc *service.Service, reg *tasks.Registry, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, tasks: reg, log: log}
}

func (s *Server) fail(ctx context.Context, method string, err error) error {
	return errmap.Status(ctx, s.log, method, err)
}

// task hands out a task that is done at doneAt (at once for the zero time).
func (s *Server) task(doneAt time.Time) *providerv1.TaskRef {
	return &providerv1.TaskRef{Id: s.tasks.Start(doneAt)}
}

// Validate reports whether the store can take writes.
func (s *Server) Validate(context.Context, *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	if err := s.svc.Healthy(); err != nil {
		return &providerv1.ValidateResponse{Ok: false, Message: err.Error()}, nil
	}
	return &providerv1.ValidateResponse{Ok: true, Message: fmt.Sprintf("file provider ready, %d VMs", s.svc.Count())}, nil
}

// Create creates a VM; see service.Create for idempotency by name.
func (s *Server) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	cr, err := decodeCreate(req)
	if err != nil {
		return nil, s.fail(ctx, "Create", err)
	}
	vm, created, err := s.svc.Create(cr)
	if err != nil {
		return nil, s.fail(ctx, "Create", err)
	}
	if created {
		s.log.InfoContext(ctx, "vm created", "id", vm.ID, "name", vm.Name, "cpu", vm.Spec.CPU, "memoryMiB", vm.Spec.MemoryMiB)
	}
	return &providerv1.CreateResponse{Id: vm.ID, Task: s.task(vm.CreatingUntil(s.svc.Now()))}, nil
}

func decodeCreate(req *providerv1.CreateRequest) (service.CreateRequest, error) {
	if err := domain.ValidateName(req.GetName()); err != nil {
		return service.CreateRequest{}, err
	}
	hw, err := DecodeClass("class_json", req.GetClassJson())
	if err != nil {
		return service.CreateRequest{}, err
	}
	img, err := DecodeImage(req.GetImageJson())
	if err != nil {
		return service.CreateRequest{}, err
	}
	disks, err := DecodeDisks("disks_json", req.GetDisksJson())
	if err != nil {
		return service.CreateRequest{}, err
	}
	if err := checkJSON("networks_json", req.GetNetworksJson()); err != nil {
		return service.CreateRequest{}, err
	}
	if err := checkJSON("placement_json", req.GetPlacementJson()); err != nil {
		return service.CreateRequest{}, err
	}
	if n := len(req.GetUserData()); n > maxBlobLen {
		return service.CreateRequest{}, domain.InvalidArgument("user_data is %d bytes long, at most %d are allowed", n, maxBlobLen)
	}
	if n := len(req.GetMetaData()); n > maxBlobLen {
		return service.CreateRequest{}, domain.InvalidArgument("meta_data is %d bytes long, at most %d are allowed", n, maxBlobLen)
	}
	return service.CreateRequest{
		Name: req.GetName(),
		Spec: domain.Spec{CPU: hw.CPU, MemoryMiB: hw.MemoryMiB, Image: img, Disks: disks},
		Tags: req.GetTags(),
	}, nil
}

// Delete deletes a VM and its snapshots; an unknown VM is not an error.
func (s *Server) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	existed, err := s.svc.Delete(req.GetId())
	if err != nil {
		return nil, s.fail(ctx, "Delete", err)
	}
	if existed {
		s.log.InfoContext(ctx, "vm deleted", "id", req.GetId())
	}
	return &providerv1.TaskResponse{Task: s.task(time.Time{})}, nil
}

// powerOps maps the wire enum; anything else (UNSPECIFIED, unknown numbers) is refused.
var powerOps = map[providerv1.PowerOp]domain.PowerOp{
	providerv1.PowerOp_POWER_OP_ON:                domain.OpOn,
	providerv1.PowerOp_POWER_OP_OFF:               domain.OpOff,
	providerv1.PowerOp_POWER_OP_REBOOT:            domain.OpReboot,
	providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL: domain.OpShutdownGraceful,
}

// Power changes the power state; the task is done when a reboot has ended.
func (s *Server) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if err := domain.ValidateID("vm", req.GetId()); err != nil {
		return nil, s.fail(ctx, "Power", err)
	}
	op, ok := powerOps[req.GetOp()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "power op %d (%s) is not one of ON, OFF, REBOOT, SHUTDOWN_GRACEFUL",
			int32(req.GetOp()), req.GetOp())
	}
	if t := req.GetGracefulTimeoutSeconds(); t < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "graceful_timeout_seconds must not be negative, got %d", t)
	}
	vm, err := s.svc.Power(req.GetId(), op)
	if err != nil {
		return nil, s.fail(ctx, "Power", err)
	}
	return &providerv1.TaskResponse{Task: s.task(vm.BusyUntil(s.svc.Now()))}, nil
}

// Reconfigure applies the Class and Disks of desired_json.
func (s *Server) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if err := domain.ValidateID("vm", req.GetId()); err != nil {
		return nil, s.fail(ctx, "Reconfigure", err)
	}
	change, err := DecodeDesired(req.GetDesiredJson())
	if err != nil {
		return nil, s.fail(ctx, "Reconfigure", err)
	}
	if _, err := s.svc.Reconfigure(req.GetId(), change); err != nil {
		return nil, s.fail(ctx, "Reconfigure", err)
	}
	return &providerv1.TaskResponse{Task: s.task(time.Time{})}, nil
}

// Describe reports one VM; an unknown (well-formed) id is exists=false, a malformed one
// InvalidArgument.
func (s *Server) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	vm, err := s.svc.Get(req.GetId())
	if domain.IsNotFound(err) {
		return &providerv1.DescribeResponse{Exists: false}, nil
	}
	if err != nil {
		return nil, s.fail(ctx, "Describe", err)
	}
	now := s.svc.Now()
	raw, err := json.Marshal(rawVM(vm, now))
	if err != nil {
		return nil, s.fail(ctx, "Describe", err)
	}
	return &providerv1.DescribeResponse{
		Exists:          true,
		PowerState:      powerState(vm.StateAt(now)),
		ProviderRawJson: string(raw),
	}, nil
}

// TaskStatus reports a task handed out by a mutating call.
func (s *Server) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	if req.GetTask() == nil {
		return nil, status.Error(codes.InvalidArgument, "task is required")
	}
	id := req.GetTask().GetId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "task id is required")
	}
	done, ok := s.tasks.Done(id)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "task %.64q not found (unknown, or expired)", id)
	}
	return &providerv1.TaskStatusResponse{Done: done}, nil
}

// SnapshotCreate records the spec and power state of a VM. Memory snapshots are not offered.
func (s *Server) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	if err := domain.ValidateID("vm", req.GetVmId()); err != nil {
		return nil, s.fail(ctx, "SnapshotCreate", err)
	}
	if req.GetIncludeMemory() {
		return nil, status.Error(codes.Unimplemented, "memory snapshots are not supported (supports_memory_snapshots=false)")
	}
	snap, err := s.svc.SnapshotCreate(req.GetVmId(), req.GetNameHint(), req.GetDescription())
	if err != nil {
		return nil, s.fail(ctx, "SnapshotCreate", err)
	}
	return &providerv1.SnapshotCreateResponse{SnapshotId: snap.ID, Task: s.task(time.Time{})}, nil
}

// SnapshotDelete deletes a snapshot; an unknown snapshot or VM is not an error.
func (s *Server) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if _, err := s.svc.SnapshotDelete(req.GetVmId(), req.GetSnapshotId()); err != nil {
		return nil, s.fail(ctx, "SnapshotDelete", err)
	}
	return &providerv1.TaskResponse{Task: s.task(time.Time{})}, nil
}

// SnapshotRevert restores what a snapshot recorded.
func (s *Server) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	if _, err := s.svc.SnapshotRevert(req.GetVmId(), req.GetSnapshotId()); err != nil {
		return nil, s.fail(ctx, "SnapshotRevert", err)
	}
	return &providerv1.TaskResponse{Task: s.task(time.Time{})}, nil
}

// Clone makes a full, independent copy; linked clones are not offered.
func (s *Server) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if err := domain.ValidateID("source vm", req.GetSourceVmId()); err != nil {
		return nil, s.fail(ctx, "Clone", err)
	}
	if err := domain.ValidateName(req.GetTargetName()); err != nil {
		return nil, s.fail(ctx, "Clone", domain.InvalidArgument("target_name: %v", err))
	}
	if req.GetLinked() {
		return nil, status.Error(codes.Unimplemented, "linked clones are not supported (supports_linked_clones=false)")
	}
	override, err := DecodeCloneClass(req.GetClassJson())
	if err != nil {
		return nil, s.fail(ctx, "Clone", err)
	}
	if err := checkJSON("placement_json", req.GetPlacementJson()); err != nil {
		return nil, s.fail(ctx, "Clone", err)
	}
	if err := checkJSON("customize_json", req.GetCustomizeJson()); err != nil {
		return nil, s.fail(ctx, "Clone", err)
	}
	vm, created, err := s.svc.Clone(req.GetSourceVmId(), req.GetTargetName(), override)
	if err != nil {
		return nil, s.fail(ctx, "Clone", err)
	}
	if created {
		s.log.InfoContext(ctx, "vm cloned", "source", req.GetSourceVmId(), "id", vm.ID, "name", vm.Name)
	}
	return &providerv1.CloneResponse{TargetVmId: vm.ID, Task: s.task(vm.CreatingUntil(s.svc.Now()))}, nil
}

// GetCapabilities advertises exactly what this server implements.
func (s *Server) GetCapabilities(context.Context, *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	return &providerv1.GetCapabilitiesResponse{
		// Reconfigure and disk changes apply in any power state.
		SupportsReconfigureOnline:   true,
		SupportsDiskExpansionOnline: true,
		SupportsSnapshots:           true,
		SupportsMemorySnapshots:     false,
		SupportsLinkedClones:        false,
		SupportsImageImport:         false,
		SupportsDiskExport:          false,
		SupportsDiskImport:          false,
	}, nil
}

// ListVMs lists every VM, sorted by name.
func (s *Server) ListVMs(context.Context, *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	vms := s.svc.List()
	now := s.svc.Now()
	out := make([]*providerv1.VMInfo, 0, len(vms))
	for _, vm := range vms {
		out = append(out, vmInfo(vm, now))
	}
	return &providerv1.ListVMsResponse{Vms: out}, nil
}

// HardwareUpgrade, ImagePrepare, ExportDisk, ImportDisk and GetDiskInfo are answered by the
// embedded UnimplementedProviderServer: a file provider has no hardware versions, images or
// disk contents, and GetCapabilities says so.

// powerState maps a state to the manager's vocabulary: a VM being created is not powered on
// yet; a rebooting VM stays powered on, as hypervisors report it.
func powerState(st domain.State) string {
	switch st {
	case domain.StateRunning, domain.StateRebooting:
		return string(domain.PowerOn)
	default:
		return string(domain.PowerOff)
	}
}

func diskID(i int) string { return fmt.Sprintf("disk-%d", i) }

func vmInfo(vm domain.VM, now time.Time) *providerv1.VMInfo {
	info := &providerv1.VMInfo{
		Id:         vm.ID,
		Name:       vm.Name,
		PowerState: powerState(vm.StateAt(now)),
		Cpu:        vm.Spec.CPU,
		MemoryMib:  vm.Spec.MemoryMiB,
		ProviderRaw: map[string]string{
			"state": string(vm.StateAt(now)),
		},
	}
	if vm.Spec.Image.TemplateName != "" {
		info.ProviderRaw["image"] = vm.Spec.Image.TemplateName
	}
	for i, d := range vm.Spec.Disks {
		info.Disks = append(info.Disks, &providerv1.DiskInfo{Id: diskID(i), SizeGib: d.SizeGiB})
	}
	return info
}

// describeRaw is the provider_raw_json of Describe. Its keys are a documented part of this
// provider's behaviour: clients read cpu and memoryMiB from it.
type describeRaw struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	State     string     `json:"state"`
	Power     string     `json:"power"`
	CPU       int32      `json:"cpu"`
	MemoryMiB int64      `json:"memoryMiB"`
	Image     rawImage   `json:"image"`
	Disks     []rawDisk  `json:"disks"`
	Tags      []string   `json:"tags,omitempty"`
	CloneOf   string     `json:"cloneOf,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	Until     *time.Time `json:"transitionUntil,omitempty"`
}

type rawImage struct {
	TemplateName string `json:"templateName,omitempty"`
	URL          string `json:"url,omitempty"`
}

type rawDisk struct {
	ID      string `json:"id"`
	SizeGiB int32  `json:"sizeGiB"`
}

func rawVM(vm domain.VM, now time.Time) describeRaw {
	r := describeRaw{
		ID:        vm.ID,
		Name:      vm.Name,
		State:     string(vm.StateAt(now)),
		Power:     powerState(vm.StateAt(now)),
		CPU:       vm.Spec.CPU,
		MemoryMiB: vm.Spec.MemoryMiB,
		Image:     rawImage(vm.Spec.Image),
		Disks:     []rawDisk{},
		Tags:      vm.Tags,
		CloneOf:   vm.CloneOf,
		CreatedAt: vm.CreatedAt.UTC(),
		UpdatedAt: vm.UpdatedAt.UTC(),
	}
	if until := vm.BusyUntil(now); !until.IsZero() {
		u := until.UTC()
		r.Until = &u
	}
	for i, d := range vm.Spec.Disks {
		r.Disks = append(r.Disks, rawDisk{ID: diskID(i), SizeGiB: d.SizeGiB})
	}
	return r
}
