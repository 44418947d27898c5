package brokenprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the ninth mutation round: what a failed call leaves behind (a half-made VM, a
// half-applied reconfigure, a reboot that fails after it started the VM), changes that do not
// survive a power cycle, limits nobody asked for (a vCPU cap, a clone that needs a running
// source), a page cursor off by one, concurrent snapshots, and error codes that are wrong for
// one operation only.

// round9Catalog lists the defects of this file; Catalog appends them.
func round9Catalog() []Defect {
	return []Defect{
		{
			Name: "reconfigure-partial-on-error", Family: Reconfigure,
			Bug: "CPU and memory are set in two hypervisor calls (setvcpus, then setmem), each validating its own " +
				"value: a reconfigure with a valid CPU count and a non-positive memory size answers InvalidArgument " +
				"after the CPU count was already changed",
			V1:       func(p v1Server) v1Server { return v1ReconfigurePartial{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdatePartial{p} },
		},
		{
			Name: "refused-create-leaves-vm", Family: Create,
			Bug: "create clones the template first and applies CPU and memory afterwards: a non-positive CPU or " +
				"memory answers InvalidArgument, but the half-made VM (template size, 1 CPU / 1024 MiB) stays under " +
				"the name, and a corrected retry of that create returns it",
			V1:       func(p v1Server) v1Server { return v1RefusedCreateLeavesVM{p} },
			Tutorial: func(p tutServer) tutServer { return tutRefusedCreateLeavesVM{p} },
		},
		{
			Name: "reconfigure-lost-at-power-off", Family: Reconfigure,
			Bug: "a running VM is reconfigured on the live domain only (VIR_DOMAIN_AFFECT_LIVE, not _CONFIG): the new " +
				"size shows until the VM is powered off, which brings back the size of its persistent definition",
			V1:       func(p v1Server) v1Server { return v1LiveOnlyReconfigure{p, &hardwareCache{}} },
			Tutorial: func(p tutServer) tutServer { return tutLiveOnlyUpdate{p, &hardwareCache{}} },
		},
		{
			Name: "concurrent-snapshots-share-id", Family: Snapshot,
			Bug: "the snapshot name is made from a per-VM counter read before the (slow) hypervisor call: snapshots " +
				"of one VM taken at the same time get the same id, the later replacing the earlier",
			V1:       func(p v1Server) v1Server { return v1SnapshotsCollide{p, &colliders{}} },
			Tutorial: func(p tutServer) tutServer { return tutSnapshotsCollide{p, &colliders{}} },
		},
		{
			Name: "cpu-capped-at-host-cores", Family: Create,
			Bug: "vCPU counts are clamped to the host's core count (8) instead of refused: a VM created, " +
				"reconfigured or cloned with more CPUs answers OK and gets 8",
			V1:       func(p v1Server) v1Server { return v1CPUCapped{p} },
			Tutorial: func(p tutServer) tutServer { return tutCPUCapped{p} },
		},
		{
			Name: "clone-stopped-source-refused", Family: Clone,
			Bug: "clones are copied with the live block-copy job (drive-mirror), which needs a running domain: " +
				"cloning a stopped VM answers FailedPrecondition",
			V1:       func(p v1Server) v1Server { return v1CloneStoppedRefused{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneStoppedRefused{p} },
		},
		{
			Name: "quantity-g-and-m-as-binary", Family: Clone,
			Bug: `the fix for "2097152k" covered k only: a clone override's decimal "M" and "G" memory ` +
				`suffixes are still read as "Mi" and "Gi" ("4G" gives 4096 MiB, not 3815)`,
			V1: func(p v1Server) v1Server { return v1DecimalMGAsBinary{p} },
		},
		{
			Name: "revert-notfound-as-unknown", Family: ErrorCodes,
			Bug: "SnapshotRevert wraps the hypervisor's error with fmt.Errorf(\"%v\"), dropping its status: a " +
				"revert to a snapshot (or of a VM) that does not exist answers Unknown instead of NotFound",
			V1: func(p v1Server) v1Server { return v1RevertNotFoundUnknown{p} },
		},
		{
			Name: "reboot-unknown-vm-unavailable", Family: ErrorCodes,
			Bug: "a reboot goes through the guest agent, whose channel lookup fails for a VM that does not exist: " +
				"rebooting an unknown VM answers Unavailable (\"guest agent not connected\"), which the manager retries " +
				"forever, instead of NotFound",
			V1:       func(p v1Server) v1Server { return v1RebootUnknownUnavailable{p} },
			Tutorial: func(p tutServer) tutServer { return tutRebootUnknownUnavailable{p} },
		},
		{
			Name: "graceful-shutdown-off-task-error", Family: Power,
			Bug: "a graceful shutdown asks the guest tools, which a stopped VM does not run: a graceful shutdown of " +
				"a VM that is already Off returns a task that ends with the error \"guest tools not running\"",
			V1: func(p v1Server) v1Server { return v1GracefulOffTaskError{p, &idSet{}} },
		},
		{
			Name: "reconfigure-noop-refused", Family: Reconfigure,
			Bug: "the reconfigure sends only what differs from the current configuration, and the hypervisor API " +
				"refuses an empty update: reconfiguring a VM to the size it has answers InvalidArgument " +
				"(\"no options specified\")",
			V1:       func(p v1Server) v1Server { return v1ReconfigureNoopRefused{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateNoopRefused{p} },
		},
		{
			Name: "reboot-stopped-fails-but-starts", Family: Power,
			Bug: "a reboot of a stopped VM falls back to a power-on, and then reports the hypervisor's " +
				"\"domain is not running\" from the first attempt: v1 the task ends with that error, tutorial " +
				"FailedPrecondition; the VM is On",
			V1:       func(p v1Server) v1Server { return v1RebootStoppedFailsButStarts{p, &idSet{}} },
			Tutorial: func(p tutServer) tutServer { return tutRebootStoppedFailsButStarts{p} },
		},
		{
			Name: "snapshot-stopped-task-hangs", Family: Tasks,
			Bug: "snapshots are quiesced: the task waits for the guest agent to acknowledge the filesystem freeze, " +
				"which a stopped VM never does, so a snapshot of a stopped VM stays done=false",
			V1: func(p v1Server) v1Server { return v1SnapshotStoppedHangs{p, &idSet{}} },
		},
		{
			Name: "list-page-cursor-skips-one", Family: List,
			Bug: "ListVMs pages through the inventory 50 at a time and starts each next page at offset+51: the " +
				"51st VM (and every 51st after it) is never listed",
			V1:       func(p v1Server) v1Server { return v1ListSkipsOne{p} },
			Tutorial: func(p tutServer) tutServer { return tutListSkipsOne{p} },
		},
		{
			Name: "describe-gone-while-rebooting", Family: Describe,
			Bug: "Describe looks the VM up among the running domains, then among the defined inactive ones; a " +
				"domain in the middle of a reboot is in neither, so Describe answers exists=false until it is back",
			V1: func(p v1Server) v1Server { return newV1DescribeGoneWhileRebooting(p) },
		},
		{
			Name: "missing-spec-defaults", Family: Create,
			Bug: "CreateVM and UpdateVM without a VMSpec fill in the template's defaults (1 CPU, 512 MiB) instead " +
				"of refusing a request that asks for no size",
			Tutorial: func(p tutServer) tutServer { return tutMissingSpecDefaults{p} },
		},
	}
}

// tutMissingSpecDefaults replaces a missing VMSpec by 1 CPU and 512 MiB.
type tutMissingSpecDefaults struct {
	tutorialv1.ProviderServiceServer
}

var defaultSpec = &tutorialv1.VMSpec{Cpu: 1, Memory: 512}

func (w tutMissingSpecDefaults) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetSpec() == nil {
		req = &tutorialv1.CreateVMRequest{Name: req.GetName(), Spec: defaultSpec}
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

func (w tutMissingSpecDefaults) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if req.GetSpec() == nil {
		req = &tutorialv1.UpdateVMRequest{VmId: req.GetVmId(), Spec: defaultSpec}
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

// --- reconfigure --------------------------------------------------------------------------

// v1ReconfigurePartial applies a valid CPU count before it finds the memory size invalid.
type v1ReconfigurePartial struct{ providerv1.ProviderServer }

func (w v1ReconfigurePartial) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if cpu, mem, ok := desiredClass(req); ok && validCPU(cpu) && mem <= 0 {
		if vm, found := describeV1(ctx, w.ProviderServer, req.GetId()); found {
			resizeV1(ctx, w.ProviderServer, req.GetId(), vm.Name, int32(cpu), vm.MemoryMiB)
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

type tutUpdatePartial struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdatePartial) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if s := req.GetSpec(); s != nil && s.GetCpu() > 0 && s.GetMemory() <= 0 {
		if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok {
			resizeTutorial(ctx, w.ProviderServiceServer, vm, s.GetCpu(), vm.GetSpec().GetMemory())
		}
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

// validCPU is a CPU count the real provider accepts: a positive whole 32-bit number.
func validCPU(cpu float64) bool {
	return cpu > 0 && cpu == math.Trunc(cpu) && cpu <= math.MaxInt32
}

// resizeTutorial sets a VM's CPU and memory through the real provider, keeping its image.
func resizeTutorial(ctx context.Context, p tutorialv1.ProviderServiceServer, vm *tutorialv1.GetVMResponse, cpu int32, memoryMiB int64) {
	_, _ = p.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: vm.GetVmId(),
		Spec: &tutorialv1.VMSpec{Cpu: cpu, Memory: memoryMiB, Image: vm.GetSpec().GetImage()}})
}

// v1LiveOnlyReconfigure keeps a definition per VM, updated by every change except a
// reconfigure of a running VM, and restores it when the VM is powered off.
type v1LiveOnlyReconfigure struct {
	providerv1.ProviderServer
	defs *hardwareCache // the persistent domain definitions: the hardware a VM comes back with after a power-off
}

// define records the VM's current hardware as its definition.
func (w v1LiveOnlyReconfigure) define(ctx context.Context, id string, keep bool) {
	if vm, ok := describeV1(ctx, w.ProviderServer, id); ok {
		store := w.defs.set
		if keep {
			store = w.defs.keep
		}
		store(id, hardware{vm.CPU, vm.MemoryMiB})
	}
}

func (w v1LiveOnlyReconfigure) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil {
		w.define(ctx, resp.GetId(), true)
	}
	return resp, err
}

func (w v1LiveOnlyReconfigure) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		w.define(ctx, resp.GetTargetVmId(), true)
	}
	return resp, err
}

func (w v1LiveOnlyReconfigure) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err == nil && power != "On" {
		w.define(ctx, req.GetId(), false)
	}
	return resp, err
}

// SnapshotRevert redefines the domain from the snapshot.
func (w v1LiveOnlyReconfigure) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if err == nil {
		w.define(ctx, req.GetVmId(), false)
	}
	return resp, err
}

func (w v1LiveOnlyReconfigure) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Power(ctx, req)
	off := req.GetOp() == providerv1.PowerOp_POWER_OP_OFF || req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL
	if err != nil || !off || power != "On" {
		return resp, err
	}
	def, ok := w.defs.get(req.GetId())
	if vm, found := describeV1(ctx, w.ProviderServer, req.GetId()); ok && found && (vm.CPU != def.cpu || vm.MemoryMiB != def.memoryMiB) {
		resizeV1(ctx, w.ProviderServer, req.GetId(), vm.Name, def.cpu, def.memoryMiB)
	}
	return resp, nil
}

type tutLiveOnlyUpdate struct {
	tutorialv1.ProviderServiceServer
	defs *hardwareCache // the persistent domain definitions: the hardware a VM comes back with after a power-off
}

func (w tutLiveOnlyUpdate) define(ctx context.Context, id string, keep bool) {
	if vm, ok := getTutorial(ctx, w.ProviderServiceServer, id); ok {
		store := w.defs.set
		if keep {
			store = w.defs.keep
		}
		store(id, hardware{vm.GetSpec().GetCpu(), vm.GetSpec().GetMemory()})
	}
}

func (w tutLiveOnlyUpdate) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil {
		w.define(ctx, resp.GetVmId(), true)
	}
	return resp, err
}

func (w tutLiveOnlyUpdate) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil {
		w.define(ctx, resp.GetCloneVmId(), true)
	}
	return resp, err
}

func (w tutLiveOnlyUpdate) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	before, _ := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if err == nil && before.GetStatus().GetState() == tutorialStopped {
		w.define(ctx, req.GetVmId(), false)
	}
	return resp, err
}

func (w tutLiveOnlyUpdate) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	before, _ := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if err != nil || req.GetPowerOp() != tutorialv1.PowerOp_POWER_OP_OFF || before == nil || before.GetStatus().GetState() == tutorialStopped {
		return resp, err
	}
	def, ok := w.defs.get(req.GetVmId())
	if vm, found := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && found &&
		(vm.GetSpec().GetCpu() != def.cpu || vm.GetSpec().GetMemory() != def.memoryMiB) {
		resizeTutorial(ctx, w.ProviderServiceServer, vm, def.cpu, def.memoryMiB)
	}
	return resp, nil
}

// v1ReconfigureNoopRefused refuses a reconfigure to the VM's current size.
type v1ReconfigureNoopRefused struct{ providerv1.ProviderServer }

func (w v1ReconfigureNoopRefused) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if cpu, mem, ok := desiredClass(req); ok {
		if vm, found := describeV1(ctx, w.ProviderServer, req.GetId()); found && cpu == float64(vm.CPU) && mem == float64(vm.MemoryMiB) {
			return nil, status.Error(codes.InvalidArgument, "400 Parameter verification failed: no options specified")
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

type tutUpdateNoopRefused struct {
	tutorialv1.ProviderServiceServer
}

func (w tutUpdateNoopRefused) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && req.GetSpec() != nil &&
		proto.Equal(vm.GetSpec(), req.GetSpec()) {
		return nil, status.Error(codes.InvalidArgument, "400 Parameter verification failed: no options specified")
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

// --- create -------------------------------------------------------------------------------

// nonPositiveClass reports whether a create's class reads and carries a CPU count or memory
// size of zero or less.
func nonPositiveClass(class string) bool {
	var c map[string]any
	if json.Unmarshal([]byte(class), &c) != nil {
		return false
	}
	cpu, cok := c["CPU"].(float64)
	mem, mok := c["MemoryMiB"].(float64)
	return (cok && cpu <= 0) || (mok && mem <= 0)
}

// v1RefusedCreateLeavesVM makes the template-sized VM a refused create leaves behind.
type v1RefusedCreateLeavesVM struct{ providerv1.ProviderServer }

func (w v1RefusedCreateLeavesVM) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if status.Code(err) == codes.InvalidArgument && req.GetName() != "" && nonPositiveClass(req.GetClassJson()) {
		_, _ = w.ProviderServer.Create(ctx, withCreateClass(req, classJSON(fallbackCPU, fallbackMemoryMiB)))
	}
	return resp, err
}

type tutRefusedCreateLeavesVM struct {
	tutorialv1.ProviderServiceServer
}

func (w tutRefusedCreateLeavesVM) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if s := req.GetSpec(); status.Code(err) == codes.InvalidArgument && req.GetName() != "" && s != nil && (s.GetCpu() <= 0 || s.GetMemory() <= 0) {
		_, _ = w.ProviderServiceServer.CreateVM(ctx, &tutorialv1.CreateVMRequest{Name: req.GetName(),
			Spec: &tutorialv1.VMSpec{Cpu: fallbackCPU, Memory: fallbackMemoryMiB, Image: s.GetImage()}})
	}
	return resp, err
}

// hostCores is the vCPU count a capped provider never goes beyond.
const hostCores = 8

// capCPU clamps a JSON CPU count the real provider would accept to hostCores; other values
// pass unchanged, so that the real provider still judges them.
func capCPU(v any) any {
	if cpu, ok := v.(float64); ok && validCPU(cpu) && cpu > hostCores {
		return hostCores
	}
	return v
}

// editJSON rewrites a JSON object; text that is no object passes unchanged.
func editJSON(doc string, edit func(map[string]any)) string {
	var m map[string]any
	if json.Unmarshal([]byte(doc), &m) != nil || m == nil {
		return doc
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		return doc
	}
	return string(b)
}

// v1CPUCapped clamps the CPU count of creates, reconfigures and clone overrides.
type v1CPUCapped struct{ providerv1.ProviderServer }

func (w v1CPUCapped) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	return w.ProviderServer.Create(ctx, editClass(req, func(c map[string]any) {
		if v, ok := c["CPU"]; ok {
			c["CPU"] = capCPU(v)
		}
	}))
}

func (w v1CPUCapped) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	desired := editJSON(req.GetDesiredJson(), func(d map[string]any) {
		if c, ok := d["Class"].(map[string]any); ok && c["CPU"] != nil {
			c["CPU"] = capCPU(c["CPU"])
		}
	})
	return w.ProviderServer.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: req.GetId(), DesiredJson: desired})
}

func (w v1CPUCapped) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetClassJson() != "" {
		req = proto.Clone(req).(*providerv1.CloneRequest)
		req.ClassJson = editJSON(req.ClassJson, func(c map[string]any) {
			if v, ok := c["cpu"]; ok {
				c["cpu"] = capCPU(v)
			}
		})
	}
	return w.ProviderServer.Clone(ctx, req)
}

type tutCPUCapped struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCPUCapped) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if req.GetSpec().GetCpu() > hostCores {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Spec.Cpu = hostCores
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

func (w tutCPUCapped) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if req.GetSpec().GetCpu() > hostCores {
		req = proto.Clone(req).(*tutorialv1.UpdateVMRequest)
		req.Spec.Cpu = hostCores
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}

// --- snapshot -----------------------------------------------------------------------------

// snapshotWindow is how long a colliding snapshot's hypervisor call takes, so that snapshots
// requested together overlap.
const snapshotWindow = 50 * time.Millisecond

// colliders holds one collider per VM: snapshots of one VM that overlap share an id.
type colliders struct{ byVM sync.Map }

func (c *colliders) of(vmID string) *collider {
	v, _ := c.byVM.LoadOrStore(vmID, &collider{window: snapshotWindow})
	return v.(*collider)
}

type v1SnapshotsCollide struct {
	providerv1.ProviderServer
	vms *colliders
}

func (w v1SnapshotsCollide) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	var task *providerv1.TaskRef
	id, err := w.vms.of(req.GetVmId()).create(func() (string, error) {
		resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
		task = resp.GetTask()
		return resp.GetSnapshotId(), err
	}, func(id string) {
		_, _ = w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: id})
	})
	if err != nil {
		return nil, err
	}
	return &providerv1.SnapshotCreateResponse{SnapshotId: id, Task: task}, nil
}

type tutSnapshotsCollide struct {
	tutorialv1.ProviderServiceServer
	vms *colliders
}

func (w tutSnapshotsCollide) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	var st *tutorialv1.TaskStatus
	// The tutorial API cannot delete a snapshot: the replaced one goes with its VM.
	id, err := w.vms.of(req.GetVmId()).create(func() (string, error) {
		resp, err := w.ProviderServiceServer.CreateSnapshot(ctx, req)
		st = resp.GetStatus()
		return resp.GetSnapshotId(), err
	}, func(string) {})
	if err != nil {
		return nil, err
	}
	return &tutorialv1.CreateSnapshotResponse{SnapshotId: id, Status: st}, nil
}

// v1RevertNotFoundUnknown loses the status of a revert's NotFound.
type v1RevertNotFoundUnknown struct{ providerv1.ProviderServer }

func (w v1RevertNotFoundUnknown) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if status.Code(err) == codes.NotFound {
		// A plain error: gRPC answers it as Unknown.
		return nil, fmt.Errorf("revert vm %s to snapshot %s: %v", req.GetVmId(), req.GetSnapshotId(), status.Convert(err).Message())
	}
	return resp, err
}

// v1SnapshotStoppedHangs never finishes the task of a snapshot of a stopped VM.
type v1SnapshotStoppedHangs struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1SnapshotStoppedHangs) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetVmId())
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil && power == "Off" {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1SnapshotStoppedHangs) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: false}, nil
	}
	return resp, err
}

// --- clone --------------------------------------------------------------------------------

// v1CloneStoppedRefused refuses to clone a source that is Off.
type v1CloneStoppedRefused struct{ providerv1.ProviderServer }

func (w v1CloneStoppedRefused) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if power, ok := describeV1Power(ctx, w.ProviderServer, req.GetSourceVmId()); ok && power == "Off" {
		return nil, status.Errorf(codes.FailedPrecondition, "block copy of %s: domain is not running", req.GetSourceVmId())
	}
	return w.ProviderServer.Clone(ctx, req)
}

type tutCloneStoppedRefused struct {
	tutorialv1.ProviderServiceServer
}

func (w tutCloneStoppedRefused) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetSourceVmId()); ok && vm.GetStatus().GetState() == tutorialStopped {
		return nil, status.Errorf(codes.FailedPrecondition, "block copy of %s: domain is not running", req.GetSourceVmId())
	}
	return w.ProviderServiceServer.CloneVM(ctx, req)
}

// decimalMG is a quantity with a decimal mega or giga suffix.
var decimalMG = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[MG]$`)

// v1DecimalMGAsBinary reads an override's "M" and "G" memory as "Mi" and "Gi".
type v1DecimalMGAsBinary struct{ providerv1.ProviderServer }

func (w v1DecimalMGAsBinary) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if req.GetClassJson() != "" {
		req = proto.Clone(req).(*providerv1.CloneRequest)
		req.ClassJson = editJSON(req.ClassJson, func(c map[string]any) {
			if m, ok := c["memory"].(string); ok && decimalMG.MatchString(m) {
				c["memory"] = m + "i"
			}
		})
	}
	return w.ProviderServer.Clone(ctx, req)
}

// --- power --------------------------------------------------------------------------------

// v1RebootUnknownUnavailable answers a reboot of an unknown VM with Unavailable.
type v1RebootUnknownUnavailable struct{ providerv1.ProviderServer }

func (w v1RebootUnknownUnavailable) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if status.Code(err) == codes.NotFound && req.GetOp() == providerv1.PowerOp_POWER_OP_REBOOT {
		return nil, status.Errorf(codes.Unavailable, "guest agent not connected for %s", req.GetId())
	}
	return resp, err
}

type tutRebootUnknownUnavailable struct {
	tutorialv1.ProviderServiceServer
}

func (w tutRebootUnknownUnavailable) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if status.Code(err) == codes.NotFound && req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_REBOOT {
		return nil, status.Errorf(codes.Unavailable, "guest agent not connected for %s", req.GetVmId())
	}
	return resp, err
}

// v1GracefulOffTaskError fails the task of a graceful shutdown of a VM that is already Off.
type v1GracefulOffTaskError struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1GracefulOffTaskError) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Power(ctx, req)
	if err == nil && power == "Off" && req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1GracefulOffTaskError) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && resp.GetDone() && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: true, Error: "guest tools not running"}, nil
	}
	return resp, err
}

// v1RebootStoppedFailsButStarts starts a stopped VM on reboot and fails the task anyway.
type v1RebootStoppedFailsButStarts struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1RebootStoppedFailsButStarts) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Power(ctx, req)
	if err == nil && power == "Off" && req.GetOp() == providerv1.PowerOp_POWER_OP_REBOOT {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1RebootStoppedFailsButStarts) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && resp.GetDone() && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: true, Error: "Requested operation is not valid: domain is not running"}, nil
	}
	return resp, err
}

type tutRebootStoppedFailsButStarts struct {
	tutorialv1.ProviderServiceServer
}

func (w tutRebootStoppedFailsButStarts) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	vm, _ := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId())
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if err == nil && req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_REBOOT && vm.GetStatus().GetState() == tutorialStopped {
		return nil, status.Error(codes.FailedPrecondition, "Requested operation is not valid: domain is not running")
	}
	return resp, err
}

// --- list / describe ----------------------------------------------------------------------

// skippedByCursor reports whether the i-th VM falls between two pages of listCap.
func skippedByCursor(i int) bool { return i%(listCap+1) == listCap }

type v1ListSkipsOne struct{ providerv1.ProviderServer }

func (w v1ListSkipsOne) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := &providerv1.ListVMsResponse{}
	for i, vm := range resp.GetVms() {
		if !skippedByCursor(i) {
			out.Vms = append(out.Vms, vm)
		}
	}
	return out, nil
}

type tutListSkipsOne struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListSkipsOne) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := &tutorialv1.ListVMsResponse{}
	for i, vm := range resp.GetVms() {
		if !skippedByCursor(i) {
			out.Vms = append(out.Vms, vm)
		}
	}
	return out, nil
}

// rebootLag is how long describe-gone-while-rebooting's reboots run, from the first time a
// client asks about their task.
const rebootLag = 150 * time.Millisecond

// v1DescribeGoneWhileRebooting runs every reboot of a known VM as a task of rebootLag (then
// as long as the real provider's task, if any) and answers exists=false for the VM until the
// lag is over.
type v1DescribeGoneWhileRebooting struct {
	providerv1.ProviderServer
	mu        sync.Mutex
	rebooting map[string]*polledTask // VM id → its reboot
	tasks     map[string]rebootTask  // the task ids handed out
}

// rebootTask is a reboot handed out under a task id of the wrapper's own.
type rebootTask struct {
	lag  *polledTask
	real string // the real provider's task, if it answered with one
}

func newV1DescribeGoneWhileRebooting(p providerv1.ProviderServer) *v1DescribeGoneWhileRebooting {
	return &v1DescribeGoneWhileRebooting{ProviderServer: p, rebooting: map[string]*polledTask{}, tasks: map[string]rebootTask{}}
}

func (w *v1DescribeGoneWhileRebooting) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() != providerv1.PowerOp_POWER_OP_REBOOT {
		return w.ProviderServer.Power(ctx, req)
	}
	id := req.GetId()
	if _, ok := describeV1Power(ctx, w.ProviderServer, id); !ok {
		return w.ProviderServer.Power(ctx, req) // unknown or malformed: the real answer
	}
	resp, err := w.ProviderServer.Power(ctx, req)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var lag *polledTask
	lag = newPolledTask(func() {
		w.mu.Lock()
		if w.rebooting[id] == lag {
			delete(w.rebooting, id)
		}
		w.mu.Unlock()
	})
	task := "reboot-" + uuid.NewString()
	w.rebooting[id], w.tasks[task] = lag, rebootTask{lag: lag, real: resp.GetTask().GetId()}
	return &providerv1.TaskResponse{Task: &providerv1.TaskRef{Id: task}}, nil
}

func (w *v1DescribeGoneWhileRebooting) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	w.mu.Lock()
	t, ok := w.tasks[req.GetTask().GetId()]
	w.mu.Unlock()
	switch {
	case !ok:
		return w.ProviderServer.TaskStatus(ctx, req)
	case !t.lag.poll(rebootLag):
		return &providerv1.TaskStatusResponse{Done: false}, nil
	case t.real == "":
		return &providerv1.TaskStatusResponse{Done: true}, nil
	}
	return w.ProviderServer.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: t.real}})
}

func (w *v1DescribeGoneWhileRebooting) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	w.mu.Lock()
	_, rebooting := w.rebooting[req.GetId()]
	w.mu.Unlock()
	if rebooting {
		return &providerv1.DescribeResponse{Exists: false}, nil
	}
	return w.ProviderServer.Describe(ctx, req)
}
