package brokenprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the sixth mutation round: VMs that share more than they should (a name
// prefix, a parsed class, a clone retry cache), ids that are only "unknown" when the provider
// remembers deleting them, tasks that are forgotten, capabilities that are read too early,
// and a few hypervisor habits (refusing to stop a stopped VM, listing running VMs twice,
// applying a snapshot instead of deleting it).

// --- delete -------------------------------------------------------------------------------

// v1DeleteByNamePrefix finds the VMs to delete by a name pattern (name*, as govmomi's finder
// or `virsh list --name | grep ^name` do): deleting a VM deletes every VM whose name begins
// with its name.
type v1DeleteByNamePrefix struct{ providerv1.ProviderServer }

func (w v1DeleteByNamePrefix) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	list, lerr := w.ProviderServer.ListVMs(ctx, &providerv1.ListVMsRequest{})
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err != nil || lerr != nil {
		return resp, err
	}
	name := ""
	for _, vm := range list.GetVms() {
		if vm.GetId() == req.GetId() {
			name = vm.GetName()
		}
	}
	if name == "" {
		return resp, nil
	}
	for _, vm := range list.GetVms() {
		if vm.GetId() != req.GetId() && strings.HasPrefix(vm.GetName(), name) {
			_, _ = w.ProviderServer.Delete(ctx, &providerv1.DeleteRequest{Id: vm.GetId()})
		}
	}
	return resp, nil
}

type tutDeleteByNamePrefix struct {
	tutorialv1.ProviderServiceServer
}

func (w tutDeleteByNamePrefix) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	list, lerr := w.ProviderServiceServer.ListVMs(ctx, &tutorialv1.ListVMsRequest{})
	resp, err := w.ProviderServiceServer.DeleteVM(ctx, req)
	if err != nil || lerr != nil {
		return resp, err
	}
	name := ""
	for _, vm := range list.GetVms() {
		if vm.GetVmId() == req.GetVmId() {
			name = vm.GetName()
		}
	}
	if name == "" {
		return resp, nil
	}
	for _, vm := range list.GetVms() {
		if vm.GetVmId() != req.GetVmId() && strings.HasPrefix(vm.GetName(), name) {
			_, _ = w.ProviderServiceServer.DeleteVM(ctx, &tutorialv1.DeleteVMRequest{VmId: vm.GetVmId()})
		}
	}
	return resp, nil
}

// issuedIDs remembers every id the provider handed out, and so, by elimination, which ids are
// tombstones (issued, now gone) and which were never issued at all.
type issuedIDs struct{ idSet }

// isWellFormedUnknown reports whether id looks like one of the provider's ids (a UUID) but was
// never handed out.
func (s *issuedIDs) neverIssued(id string) bool {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return false // malformed: the real provider says InvalidArgument
	}
	return !s.has(id)
}

// v1DeleteUnknownByTombstone makes deletes idempotent by remembering what it deleted: a delete
// of an id it issued and deleted answers OK, but a delete of a well-formed id it never issued
// (a VM deleted before a restart, by another manager replica, by hand in the hypervisor)
// answers NotFound. Snapshot deletes likewise.
type v1DeleteUnknownByTombstone struct {
	providerv1.ProviderServer
	vms, snaps *issuedIDs
}

func (w v1DeleteUnknownByTombstone) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil {
		w.vms.add(resp.GetId())
	}
	return resp, err
}

func (w v1DeleteUnknownByTombstone) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil {
		w.vms.add(resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1DeleteUnknownByTombstone) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.snaps.add(resp.GetSnapshotId())
	}
	return resp, err
}

func (w v1DeleteUnknownByTombstone) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	if w.vms.neverIssued(req.GetId()) {
		return nil, status.Errorf(codes.NotFound, "vm %s not found", req.GetId())
	}
	return w.ProviderServer.Delete(ctx, req)
}

func (w v1DeleteUnknownByTombstone) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() != "" && w.snaps.neverIssued(req.GetSnapshotId()) {
		return nil, status.Errorf(codes.NotFound, "snapshot %s not found", req.GetSnapshotId())
	}
	return w.ProviderServer.SnapshotDelete(ctx, req)
}

type tutDeleteUnknownByTombstone struct {
	tutorialv1.ProviderServiceServer
	vms *issuedIDs
}

func (w tutDeleteUnknownByTombstone) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil {
		w.vms.add(resp.GetVmId())
	}
	return resp, err
}

func (w tutDeleteUnknownByTombstone) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil {
		w.vms.add(resp.GetCloneVmId())
	}
	return resp, err
}

func (w tutDeleteUnknownByTombstone) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	if w.vms.neverIssued(req.GetVmId()) {
		return nil, status.Errorf(codes.NotFound, "vm %s not found", req.GetVmId())
	}
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}

// --- reconfigure --------------------------------------------------------------------------

// classGroups remembers which VMs were created from the same class: a provider that caches
// parsed classes by their JSON and points every VM at the cached object.
type classGroups struct {
	mu    sync.Mutex
	byKey map[string][]string // class key → VM ids
	keyOf map[string]string   // VM id → class key
}

func (g *classGroups) add(key, id string) {
	if id == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byKey == nil {
		g.byKey, g.keyOf = map[string][]string{}, map[string]string{}
	}
	if _, ok := g.keyOf[id]; ok {
		return
	}
	g.keyOf[id] = key
	g.byKey[key] = append(g.byKey[key], id)
}

// siblings are the other VMs created from id's class.
func (g *classGroups) siblings(id string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	key, ok := g.keyOf[id]
	if !ok {
		return nil
	}
	var out []string
	for _, other := range g.byKey[key] {
		if other != id {
			out = append(out, other)
		}
	}
	return out
}

// v1ReconfigureSharedClass changes the class object every VM of that class points at: a
// reconfigure of one VM resizes every VM that was created with the same class_json.
type v1ReconfigureSharedClass struct {
	providerv1.ProviderServer
	groups *classGroups
}

func (w v1ReconfigureSharedClass) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil {
		w.groups.add(req.GetClassJson(), resp.GetId())
	}
	return resp, err
}

func (w v1ReconfigureSharedClass) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err != nil {
		return resp, err
	}
	for _, id := range w.groups.siblings(req.GetId()) {
		_, _ = w.ProviderServer.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: req.GetDesiredJson()})
	}
	return resp, nil
}

type tutUpdateSharedClass struct {
	tutorialv1.ProviderServiceServer
	groups *classGroups
}

func specKey(s *tutorialv1.VMSpec) string {
	return fmt.Sprintf("%d/%d/%s", s.GetCpu(), s.GetMemory(), s.GetImage())
}

func (w tutUpdateSharedClass) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil {
		w.groups.add(specKey(req.GetSpec()), resp.GetVmId())
	}
	return resp, err
}

func (w tutUpdateSharedClass) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	resp, err := w.ProviderServiceServer.UpdateVM(ctx, req)
	if err != nil {
		return resp, err
	}
	for _, id := range w.groups.siblings(req.GetVmId()) {
		_, _ = w.ProviderServiceServer.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: id, Spec: req.GetSpec()})
	}
	return resp, nil
}

// v1ReconfigureDoneEarly reports a reconfigure done before the change is visible: the
// hypervisor applies it a little later (a task that finishes when the request is queued).
type v1ReconfigureDoneEarly struct{ providerv1.ProviderServer }

// reconfigureLag is how long after its task finished a reconfigure becomes visible: longer
// than a loaded machine takes from a reconfigure to the check after it.
const reconfigureLag = 3 * time.Second

func (w v1ReconfigureDoneEarly) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	before, found := describeV1(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err != nil || !found {
		return resp, err
	}
	after, ok := describeV1(ctx, w.ProviderServer, req.GetId())
	if !ok || (after.CPU == before.CPU && after.MemoryMiB == before.MemoryMiB) {
		return resp, nil
	}
	// Not applied yet: put the old size back and apply the new one later.
	resizeV1(ctx, w.ProviderServer, req.GetId(), before.Name, before.CPU, before.MemoryMiB)
	later := proto.Clone(req).(*providerv1.ReconfigureRequest)
	go func() {
		time.Sleep(reconfigureLag)
		_, _ = w.ProviderServer.Reconfigure(context.Background(), later)
	}()
	return resp, nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// --- clone --------------------------------------------------------------------------------

// cloneRetries is a clone retry cache keyed by (source, target name) that nobody invalidates.
type cloneRetries struct{ m sync.Map } // source + "\x00" + target → clone id

// v1CloneRetryCacheStale answers a repeated clone from a cache of earlier clones, so a retry
// gets the same clone; a deleted clone is never dropped from the cache, so cloning the same
// source to that name again answers with the id of the clone that is gone.
type v1CloneRetryCacheStale struct {
	providerv1.ProviderServer
	cache *cloneRetries
}

func (w v1CloneRetryCacheStale) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	key := req.GetSourceVmId() + "\x00" + req.GetTargetName()
	if id, ok := w.cache.m.Load(key); ok {
		return &providerv1.CloneResponse{TargetVmId: id.(string)}, nil
	}
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" {
		w.cache.m.Store(key, resp.GetTargetVmId())
	}
	return resp, err
}

type tutCloneRetryCacheStale struct {
	tutorialv1.ProviderServiceServer
	cache *cloneRetries
}

func (w tutCloneRetryCacheStale) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	key := req.GetSourceVmId() + "\x00" + req.GetCloneName()
	if id, ok := w.cache.m.Load(key); ok {
		return &tutorialv1.CloneVMResponse{CloneVmId: id.(string), Status: &tutorialv1.TaskStatus{State: "Completed"}}, nil
	}
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil && resp.GetCloneVmId() != "" {
		w.cache.m.Store(key, resp.GetCloneVmId())
	}
	return resp, err
}

// --- tasks --------------------------------------------------------------------------------

// taskRetention is how long a provider that forgets its tasks keeps one.
const taskRetention = time.Second

// issuedTasks remembers when each task was handed out.
type issuedTasks struct{ m sync.Map } // task id → time.Time

func (t *issuedTasks) track(ref *providerv1.TaskRef) {
	if ref.GetId() != "" {
		t.m.Store(ref.GetId(), time.Now())
	}
}

func (t *issuedTasks) forgotten(id string) bool {
	at, ok := t.m.Load(id)
	return ok && time.Since(at.(time.Time)) > taskRetention
}

// v1TasksForgotten keeps tasks in memory for a second only (a map of running tasks pruned
// on a short timer): a manager that polls a task on its next requeue, seconds later, gets
// NotFound for a task that succeeded.
type v1TasksForgotten struct {
	providerv1.ProviderServer
	tasks *issuedTasks
}

func (w v1TasksForgotten) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Delete(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	w.tasks.track(resp.GetTask())
	return resp, err
}

func (w v1TasksForgotten) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	if id := req.GetTask().GetId(); w.tasks.forgotten(id) {
		return nil, status.Errorf(codes.NotFound, "task %s not found", id)
	}
	return w.ProviderServer.TaskStatus(ctx, req)
}

// v1NoopTaskUnknown skips the work of a call that changes nothing (a power operation to the
// state the VM is in, a reconfigure to its current size, a repeated create, a delete of a VM
// that is gone) but still answers with a fresh task id, which it never registers: TaskStatus
// of it answers NotFound.
type v1NoopTaskUnknown struct {
	providerv1.ProviderServer
	created *idSet
}

func unregisteredTask() *providerv1.TaskRef { return &providerv1.TaskRef{Id: uuid.NewString()} }

func (w v1NoopTaskUnknown) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	d, derr := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
	resp, err := w.ProviderServer.Power(ctx, req)
	if err != nil || derr != nil || !d.GetExists() {
		return resp, err
	}
	on := req.GetOp() == providerv1.PowerOp_POWER_OP_ON && d.GetPowerState() == "On"
	off := (req.GetOp() == providerv1.PowerOp_POWER_OP_OFF || req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL) && d.GetPowerState() == "Off"
	if on || off {
		return &providerv1.TaskResponse{Task: unregisteredTask()}, nil
	}
	return resp, nil
}

func (w v1NoopTaskUnknown) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	before, found := describeV1(ctx, w.ProviderServer, req.GetId())
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err != nil || !found {
		return resp, err
	}
	if after, ok := describeV1(ctx, w.ProviderServer, req.GetId()); ok && after.CPU == before.CPU && after.MemoryMiB == before.MemoryMiB {
		return &providerv1.TaskResponse{Task: unregisteredTask()}, nil
	}
	return resp, nil
}

func (w v1NoopTaskUnknown) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil && resp.GetId() != "" && !w.created.addNew(resp.GetId()) {
		// The name's VM was there already: nothing was done.
		return &providerv1.CreateResponse{Id: resp.GetId(), Task: unregisteredTask()}, nil
	}
	return resp, err
}

func (w v1NoopTaskUnknown) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	d, derr := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil && derr == nil && !d.GetExists() {
		return &providerv1.TaskResponse{Task: unregisteredTask()}, nil
	}
	return resp, err
}

// addNew adds id and reports whether it was not there before.
func (s *idSet) addNew(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	if s.ids[id] {
		return false
	}
	s.ids[id] = true
	return true
}

// --- capabilities -------------------------------------------------------------------------

// v1CapabilitiesUntilFirstCreate answers GetCapabilities from a hypervisor session it opens
// lazily, on the first create: until then it answers OK with every capability false.
type v1CapabilitiesUntilFirstCreate struct {
	providerv1.ProviderServer
	connected *atomic.Bool
}

func (w v1CapabilitiesUntilFirstCreate) GetCapabilities(ctx context.Context, req *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	if !w.connected.Load() {
		return &providerv1.GetCapabilitiesResponse{}, nil
	}
	return w.ProviderServer.GetCapabilities(ctx, req)
}

func (w v1CapabilitiesUntilFirstCreate) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	w.connected.Store(true)
	return w.ProviderServer.Create(ctx, req)
}

type tutCapabilitiesUntilFirstCreate struct {
	tutorialv1.ProviderServiceServer
	connected *atomic.Bool
}

func (w tutCapabilitiesUntilFirstCreate) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil || w.connected.Load() {
		return resp, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	for _, c := range resp.GetCapabilities() {
		if c.GetName() == "vm.snapshot" || c.GetName() == "vm.clone" {
			c.Supported = false
		}
	}
	return resp, nil
}

func (w tutCapabilitiesUntilFirstCreate) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	w.connected.Store(true)
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

// --- create -------------------------------------------------------------------------------

// v1NameDotsReplaced makes names "hostname safe": a dot becomes a dash.
type v1NameDotsReplaced struct{ providerv1.ProviderServer }

func (w v1NameDotsReplaced) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if strings.Contains(req.GetName(), ".") {
		req = proto.Clone(req).(*providerv1.CreateRequest)
		req.Name = strings.ReplaceAll(req.Name, ".", "-")
	}
	return w.ProviderServer.Create(ctx, req)
}

type tutNameDotsReplaced struct {
	tutorialv1.ProviderServiceServer
}

func (w tutNameDotsReplaced) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	if strings.Contains(req.GetName(), ".") {
		req = proto.Clone(req).(*tutorialv1.CreateVMRequest)
		req.Name = strings.ReplaceAll(req.Name, ".", "-")
	}
	return w.ProviderServiceServer.CreateVM(ctx, req)
}

// --- power --------------------------------------------------------------------------------

// v1PowerOffStoppedRefused passes vSphere's InvalidPowerState fault on: stopping (hard or
// graceful) a VM that is already Off answers FailedPrecondition.
type v1PowerOffStoppedRefused struct{ providerv1.ProviderServer }

func (w v1PowerOffStoppedRefused) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if op := req.GetOp(); op == providerv1.PowerOp_POWER_OP_OFF || op == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL {
		d, err := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: req.GetId()})
		if err == nil && d.GetExists() && d.GetPowerState() == "Off" {
			return nil, status.Error(codes.FailedPrecondition, "The attempted operation cannot be performed in the current state (Powered off).")
		}
	}
	return w.ProviderServer.Power(ctx, req)
}

type tutPowerOffStoppedRefused struct {
	tutorialv1.ProviderServiceServer
}

func (w tutPowerOffStoppedRefused) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_OFF {
		if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && vm.GetStatus().GetState() == tutorialStopped {
			return nil, status.Error(codes.FailedPrecondition, "domain is not running")
		}
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

// --- describe / list ----------------------------------------------------------------------

// v1DescribeStalePower serves Describe's power state from a cache filled at create time and
// never refreshed; the VM list is live.
type v1DescribeStalePower struct {
	providerv1.ProviderServer
	power *sync.Map // id → power state
}

func (w v1DescribeStalePower) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil && resp.GetId() != "" {
		w.power.LoadOrStore(resp.GetId(), "On") // the provider creates VMs running
	}
	return resp, err
}

func (w v1DescribeStalePower) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	if err != nil || !resp.GetExists() {
		return resp, err
	}
	cached, ok := w.power.Load(req.GetId())
	if !ok {
		return resp, nil
	}
	out := proto.Clone(resp).(*providerv1.DescribeResponse)
	out.PowerState = cached.(string)
	return out, nil
}

type tutGetStalePower struct {
	tutorialv1.ProviderServiceServer
	state *sync.Map // id → state
}

func (w tutGetStalePower) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil && resp.GetVmId() != "" {
		w.state.LoadOrStore(resp.GetVmId(), tutorialRunning) // the provider creates VMs running
	}
	return resp, err
}

func (w tutGetStalePower) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	if err != nil {
		return resp, err
	}
	st := resp.GetStatus().GetState()
	cached, ok := w.state.Load(req.GetVmId())
	if !ok || (st != tutorialRunning && st != tutorialStopped) {
		return resp, nil // transitional states pass, or the drivers would wait forever
	}
	out := proto.Clone(resp).(*tutorialv1.GetVMResponse)
	if out.Status == nil {
		out.Status = &tutorialv1.VMStatus{}
	}
	out.Status.State = cached.(string)
	return out, nil
}

// v1ListRunningTwice lists running VMs twice: the running domains and then all defined
// domains (virConnectListDomains followed by a list that includes them again).
type v1ListRunningTwice struct{ providerv1.ProviderServer }

func (w v1ListRunningTwice) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := &providerv1.ListVMsResponse{}
	for _, vm := range resp.GetVms() {
		if vm.GetPowerState() == "On" {
			out.Vms = append(out.Vms, proto.Clone(vm).(*providerv1.VMInfo))
		}
	}
	out.Vms = append(out.Vms, resp.GetVms()...)
	return out, nil
}

type tutListRunningTwice struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListRunningTwice) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := &tutorialv1.ListVMsResponse{}
	for _, vm := range resp.GetVms() {
		if vm.GetStatus().GetState() == tutorialRunning {
			out.Vms = append(out.Vms, proto.Clone(vm).(*tutorialv1.VMSummary))
		}
	}
	out.Vms = append(out.Vms, resp.GetVms()...)
	return out, nil
}

// --- snapshot -----------------------------------------------------------------------------

// v1SnapshotDeleteReverts "deletes" a snapshot by applying it first (qemu-img snapshot -a
// where -d was meant, or a consolidate that rolls the disk back): the VM returns to the state
// the snapshot recorded, and the snapshot is gone.
type v1SnapshotDeleteReverts struct{ providerv1.ProviderServer }

func (w v1SnapshotDeleteReverts) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if req.GetVmId() != "" && req.GetSnapshotId() != "" {
		_, _ = w.ProviderServer.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: req.GetVmId(), SnapshotId: req.GetSnapshotId()})
	}
	return w.ProviderServer.SnapshotDelete(ctx, req)
}

// v1RevertIgnoresVM finds the snapshot to revert to by its id alone: reverting VM b to a's
// snapshot reverts a and answers OK.
type v1RevertIgnoresVM struct {
	providerv1.ProviderServer
	owner *owners
}

func (w v1RevertIgnoresVM) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.owner.set(resp.GetSnapshotId(), req.GetVmId())
	}
	return resp, err
}

func (w v1RevertIgnoresVM) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	if vm, ok := w.owner.get(req.GetSnapshotId()); ok && req.GetVmId() != "" && vm != req.GetVmId() {
		req = &providerv1.SnapshotRevertRequest{VmId: vm, SnapshotId: req.GetSnapshotId()}
	}
	return w.ProviderServer.SnapshotRevert(ctx, req)
}

// --- describe names -----------------------------------------------------------------------

// v1CloneDescribeSourceName copies the source's record for a clone and renames only the
// inventory entry: the VM list shows the clone's name, Describe (provider_raw_json "name")
// the source's.
type v1CloneDescribeSourceName struct {
	providerv1.ProviderServer
	sources *sync.Map // clone id → source name
}

func (w v1CloneDescribeSourceName) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	src, found := describeV1(ctx, w.ProviderServer, req.GetSourceVmId())
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && found && resp.GetTargetVmId() != "" {
		w.sources.LoadOrStore(resp.GetTargetVmId(), src.Name)
	}
	return resp, err
}

func (w v1CloneDescribeSourceName) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	resp, err := w.ProviderServer.Describe(ctx, req)
	name, ok := w.sources.Load(req.GetId())
	if err != nil || !resp.GetExists() || !ok {
		return resp, err
	}
	var raw map[string]any
	if json.Unmarshal([]byte(resp.GetProviderRawJson()), &raw) != nil {
		return resp, nil
	}
	raw["name"] = name
	b, _ := json.Marshal(raw)
	out := proto.Clone(resp).(*providerv1.DescribeResponse)
	out.ProviderRawJson = string(b)
	return out, nil
}

type tutCloneGetSourceName struct {
	tutorialv1.ProviderServiceServer
	sources *sync.Map // clone id → source name
}

func (w tutCloneGetSourceName) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	src, found := getTutorial(ctx, w.ProviderServiceServer, req.GetSourceVmId())
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil && found && resp.GetCloneVmId() != "" {
		w.sources.LoadOrStore(resp.GetCloneVmId(), src.GetName())
	}
	return resp, err
}

func (w tutCloneGetSourceName) GetVM(ctx context.Context, req *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	resp, err := w.ProviderServiceServer.GetVM(ctx, req)
	name, ok := w.sources.Load(req.GetVmId())
	if err != nil || !ok {
		return resp, err
	}
	out := proto.Clone(resp).(*tutorialv1.GetVMResponse)
	out.Name = name.(string)
	return out, nil
}

// --- delete with snapshots ----------------------------------------------------------------

// snapshotCounts counts each VM's snapshots.
type snapshotCounts struct {
	mu sync.Mutex
	n  map[string]map[string]bool // vm id → snapshot ids
}

func (c *snapshotCounts) add(vm, snap string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]map[string]bool{}
	}
	if c.n[vm] == nil {
		c.n[vm] = map[string]bool{}
	}
	c.n[vm][snap] = true
}

func (c *snapshotCounts) remove(vm, snap string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.n[vm], snap)
}

func (c *snapshotCounts) count(vm string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n[vm])
}

// v1DeleteRefusesSnapshots undefines the domain without VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
// deleting a VM that has snapshots answers FailedPrecondition ("cannot delete inactive domain
// with N snapshots").
type v1DeleteRefusesSnapshots struct {
	providerv1.ProviderServer
	snaps *snapshotCounts
}

func (w v1DeleteRefusesSnapshots) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil && resp.GetSnapshotId() != "" {
		w.snaps.add(req.GetVmId(), resp.GetSnapshotId())
	}
	return resp, err
}

func (w v1DeleteRefusesSnapshots) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, req)
	if err == nil {
		w.snaps.remove(req.GetVmId(), req.GetSnapshotId())
	}
	return resp, err
}

func (w v1DeleteRefusesSnapshots) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	if n := w.snaps.count(req.GetId()); n > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "Requested operation is not valid: cannot delete inactive domain with %d snapshots", n)
	}
	return w.ProviderServer.Delete(ctx, req)
}

type tutDeleteRefusesSnapshots struct {
	tutorialv1.ProviderServiceServer
	snaps *snapshotCounts
}

func (w tutDeleteRefusesSnapshots) CreateSnapshot(ctx context.Context, req *tutorialv1.CreateSnapshotRequest) (*tutorialv1.CreateSnapshotResponse, error) {
	resp, err := w.ProviderServiceServer.CreateSnapshot(ctx, req)
	if err == nil && resp.GetSnapshotId() != "" {
		w.snaps.add(req.GetVmId(), resp.GetSnapshotId())
	}
	return resp, err
}

func (w tutDeleteRefusesSnapshots) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	if n := w.snaps.count(req.GetVmId()); n > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "Requested operation is not valid: cannot delete inactive domain with %d snapshots", n)
	}
	return w.ProviderServiceServer.DeleteVM(ctx, req)
}
