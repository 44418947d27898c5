package brokenprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the third mutation round: bugs that survived a suite which only ever grew
// VMs to whole GiB, rebooted running VMs and read short lists.

// --- power --------------------------------------------------------------------------------

// v1RebootStoppedNoop answers a reboot of a stopped VM with OK and leaves it Off.
type v1RebootStoppedNoop struct{ providerv1.ProviderServer }

func (w v1RebootStoppedNoop) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() == providerv1.PowerOp_POWER_OP_REBOOT {
		d, err := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
		if err == nil && d.GetExists() && d.GetPowerState() == "Off" {
			return &providerv1.TaskResponse{}, nil
		}
	}
	return w.ProviderServer.Power(ctx, req)
}

type tutRebootStoppedNoop struct {
	tutorialv1.ProviderServiceServer
}

func (w tutRebootStoppedNoop) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_REBOOT {
		if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && vm.GetStatus().GetState() == tutorialStopped {
			return &tutorialv1.PowerVMResponse{Status: vm.GetStatus()}, nil
		}
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

// --- create -------------------------------------------------------------------------------

// editClass rewrites the numbers of a create's class JSON; a class it cannot read passes
// unchanged, so that the real provider still rejects it.
func editClass(req *providerv1.CreateRequest, edit func(class map[string]any)) *providerv1.CreateRequest {
	var class map[string]any
	if json.Unmarshal([]byte(req.GetClassJson()), &class) != nil || class == nil {
		return req
	}
	edit(class)
	b, err := json.Marshal(class)
	if err != nil {
		return req
	}
	return withCreateClass(req, string(b))
}

// roundUpGiB is what a provider that allocates memory in GiB does to a size in MiB.
func roundUpGiB(mib float64) float64 { return math.Ceil(mib/1024) * 1024 }

// v1MemoryRoundedToGiB creates every VM with its memory rounded up to whole GiB.
type v1MemoryRoundedToGiB struct{ providerv1.ProviderServer }

func (w v1MemoryRoundedToGiB) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	return w.ProviderServer.Create(ctx, editClass(req, func(class map[string]any) {
		if m, ok := class["MemoryMiB"].(float64); ok && m > 0 {
			class["MemoryMiB"] = roundUpGiB(m)
		}
	}))
}

type tutMemoryRoundedToGiB struct {
	tutorialv1.ProviderServiceServer
}

func (w tutMemoryRoundedToGiB) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if s := req.GetSpec(); s != nil && s.GetMemory() > 0 {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Spec.Memory = int64(roundUpGiB(float64(s.GetMemory())))
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

// v1CPUFractionTruncated reads the class's CPU as a float and truncates it.
type v1CPUFractionTruncated struct{ providerv1.ProviderServer }

func (w v1CPUFractionTruncated) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	return w.ProviderServer.Create(ctx, editClass(req, func(class map[string]any) {
		if c, ok := class["CPU"].(float64); ok && c > 1 {
			class["CPU"] = math.Trunc(c)
		}
	}))
}

// nameCut is the length a provider with a short name column keeps.
const nameCut = 40

// v1NamesCut creates every VM under its name cut to nameCut characters.
type v1NamesCut struct{ providerv1.ProviderServer }

func (w v1NamesCut) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if len(req.GetName()) > nameCut {
		req = proto.Clone(req).(*providerv1.CreateRequest)
		req.Name = req.Name[:nameCut]
	}
	return w.ProviderServer.Create(ctx, req)
}

type tutNamesCut struct {
	tutorialv1.ProviderServiceServer
}

func (w tutNamesCut) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if len(req.GetName()) > nameCut {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Name = req.Name[:nameCut]
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

// --- health -------------------------------------------------------------------------------

// healthProviderNotServing is a health service that answers for the server but was never
// told about the service "provider".
func healthProviderNotServing() healthpb.HealthServer {
	h := health.NewServer()
	h.SetServingStatus("provider", healthpb.HealthCheckResponse_NOT_SERVING)
	return h
}

// --- list ---------------------------------------------------------------------------------

// listCap is the page size of a provider that answers ListVMs with its first page only.
const listCap = 50

type v1ListFirstPage struct{ providerv1.ProviderServer }

func (w v1ListFirstPage) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err == nil && len(resp.GetVms()) > listCap {
		resp = &providerv1.ListVMsResponse{Vms: resp.GetVms()[:listCap]}
	}
	return resp, err
}

type tutListFirstPage struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListFirstPage) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err == nil && len(resp.GetVms()) > listCap {
		resp = &tutorialv1.ListVMsResponse{Vms: resp.GetVms()[:listCap]}
	}
	return resp, err
}

// --- reconfigure --------------------------------------------------------------------------

// v1ReconfigureByName falls back to the VM named in the desired state when the id is unknown.
type v1ReconfigureByName struct{ providerv1.ProviderServer }

func (w v1ReconfigureByName) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	d, err := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
	if err == nil && !d.GetExists() {
		var desired struct{ Name string }
		if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) == nil && desired.Name != "" {
			if list, err := w.ProviderServer.ListVMs(ctx, &providerv1.ListVMsRequest{}); err == nil {
				for _, vm := range list.GetVms() {
					if vm.GetName() == desired.Name {
						r := proto.Clone(req).(*providerv1.ReconfigureRequest)
						r.Id = vm.GetId()
						return w.ProviderServer.Reconfigure(ctx, r)
					}
				}
			}
		}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// --- snapshot -----------------------------------------------------------------------------

// v1RevertStopsFirst powers the VM off before it looks for the snapshot.
type v1RevertStopsFirst struct{ providerv1.ProviderServer }

func (w v1RevertStopsFirst) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() != "" && req.GetSnapshotId() != "" {
		_, _ = w.ProviderServer.Power(ctx, &providerv1.PowerRequest{Id: req.GetVmId(), Op: providerv1.PowerOp_POWER_OP_OFF})
	}
	return w.ProviderServer.SnapshotRevert(ctx, req)
}

// v1SnapshotIDsByCount hands out snapshot ids "<vm>-snap-<n>", n being the VM's number of
// snapshots plus one: after a delete, the next snapshot gets the id of one that still exists,
// which from then on names the new snapshot.
type v1SnapshotIDsByCount struct {
	providerv1.ProviderServer
	ids *countedIDs
}

// countedIDs maps each VM's counted snapshot ids to the real ones.
type countedIDs struct {
	mu   sync.Mutex
	byVM map[string]map[string]string // vm id → counted id → real id
}

func newCountedIDs() *countedIDs { return &countedIDs{byVM: map[string]map[string]string{}} }

func (c *countedIDs) real(vmID, id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byVM[vmID][id]; ok {
		return r
	}
	if strings.Contains(id, "-snap-") {
		// One of ours, but not this VM's (any more): an id the real provider never issued.
		return uuid.NewString()
	}
	return id
}

func (w v1SnapshotIDsByCount) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err != nil || resp.GetSnapshotId() == "" {
		return resp, err
	}
	c := w.ids
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.byVM[req.GetVmId()]
	if ids == nil {
		ids = map[string]string{}
		c.byVM[req.GetVmId()] = ids
	}
	counted := fmt.Sprintf("%s-snap-%d", req.GetVmId(), len(ids)+1)
	ids[counted] = resp.GetSnapshotId()
	out := proto.Clone(resp).(*providerv1.SnapshotCreateResponse)
	out.SnapshotId = counted
	return out, nil
}

func (w v1SnapshotIDsByCount) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	r := proto.Clone(req).(*providerv1.SnapshotRevertRequest)
	r.SnapshotId = w.ids.real(req.GetVmId(), req.GetSnapshotId())
	return w.ProviderServer.SnapshotRevert(ctx, r)
}

func (w v1SnapshotIDsByCount) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	r := proto.Clone(req).(*providerv1.SnapshotDeleteRequest)
	r.SnapshotId = w.ids.real(req.GetVmId(), req.GetSnapshotId())
	resp, err := w.ProviderServer.SnapshotDelete(ctx, r)
	if err == nil {
		w.ids.mu.Lock()
		delete(w.ids.byVM[req.GetVmId()], req.GetSnapshotId())
		w.ids.mu.Unlock()
	}
	return resp, err
}

// v1CloneSharesSnapshots looks a clone's snapshots up in its source's list too, and answers
// a revert to one of the source's with OK (doing nothing).
type v1CloneSharesSnapshots struct {
	providerv1.ProviderServer
	sources *sync.Map // clone id → source id
}

func (w v1CloneSharesSnapshots) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.sources.Store(resp.GetTargetVmId(), req.GetSourceVmId())
	}
	return resp, err
}

func (w v1CloneSharesSnapshots) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if status.Code(err) != codes.NotFound {
		return resp, err
	}
	if _, isClone := w.sources.Load(req.GetVmId()); isClone && req.GetSnapshotId() != "" {
		return &providerv1.TaskResponse{}, nil
	}
	return resp, err
}

// --- clone --------------------------------------------------------------------------------

// createdHardware remembers the hardware each VM was created with.
type createdHardware struct{ m sync.Map } // id → hardware

// v1CloneCopiesCreateRequest gives a clone the hardware its source was created with.
type v1CloneCopiesCreateRequest struct {
	providerv1.ProviderServer
	created *createdHardware
}

func (w v1CloneCopiesCreateRequest) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil && resp.GetId() != "" {
		if vm, ok := describeV1(ctx, w.ProviderServer, resp.GetId()); ok {
			w.created.m.LoadOrStore(resp.GetId(), hardware{cpu: vm.CPU, memoryMiB: vm.MemoryMiB})
		}
	}
	return resp, err
}

func (w v1CloneCopiesCreateRequest) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if hw, ok := w.created.m.Load(req.GetSourceVmId()); ok && req.GetClassJson() == "" {
		h := hw.(hardware)
		req = proto.Clone(req).(*providerv1.CloneRequest)
		req.ClassJson = fmt.Sprintf(`{"cpu":%d,"memory":"%dMi"}`, h.cpu, h.memoryMiB)
	}
	return w.ProviderServer.Clone(ctx, req)
}

type tutCloneCopiesCreateRequest struct {
	tutorialv1.ProviderServiceServer
	created *createdHardware
}

func (w tutCloneCopiesCreateRequest) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil && resp.GetVmId() != "" && req.GetSpec() != nil {
		w.created.m.LoadOrStore(resp.GetVmId(), hardware{cpu: req.GetSpec().GetCpu(), memoryMiB: req.GetSpec().GetMemory()})
	}
	return resp, err
}

func (w tutCloneCopiesCreateRequest) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err != nil || resp.GetCloneVmId() == "" {
		return resp, err
	}
	if hw, ok := w.created.m.Load(req.GetSourceVmId()); ok {
		h := hw.(hardware)
		if vm, ok := getTutorial(ctx, w.ProviderServiceServer, resp.GetCloneVmId()); ok {
			spec := proto.Clone(vm.GetSpec()).(*tutorialv1.VMSpec)
			spec.Cpu, spec.Memory = h.cpu, h.memoryMiB
			_, _ = w.ProviderServiceServer.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: resp.GetCloneVmId(), Spec: spec})
		}
	}
	return resp, nil
}

// v1DecimalQuantityAsBinary reads a clone override's decimal "k" as binary "Ki".
type v1DecimalQuantityAsBinary struct{ providerv1.ProviderServer }

func (w v1DecimalQuantityAsBinary) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	var class map[string]any
	if json.Unmarshal([]byte(req.GetClassJson()), &class) == nil {
		if m, ok := class["memory"].(string); ok && strings.HasSuffix(m, "k") {
			class["memory"] = strings.TrimSuffix(m, "k") + "Ki"
			b, _ := json.Marshal(class)
			req = proto.Clone(req).(*providerv1.CloneRequest)
			req.ClassJson = string(b)
		}
	}
	return w.ProviderServer.Clone(ctx, req)
}
