package brokenprovider

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the seventh mutation round: bugs that need several VMs or several snapshots
// to show (a power call that lands on the newest VM, a snapshot chain that rotates, a clone
// that shares its source's snapshot tree or power group), bugs of one power state only (a
// revert or a memory hot-add on a running VM), async windows (a Describe during a delete, a
// graceful shutdown that outlives the client's deadline), and honesty bugs in what is
// reported (ids spelled differently per view, a task error on success, Validate ok with a
// failure message, snapshots advertised without revert).

// round7Catalog lists the defects of this file; Catalog appends them.
func round7Catalog() []Defect {
	return []Defect{
		{
			Name: "revert-running-keeps-memory", Family: Snapshot,
			Bug: "reverting a running VM restores the CPU count but not the memory (the hot-unplug of memory " +
				"fails and the error is dropped); a stopped VM reverts fully",
			V1: func(p v1Server) v1Server { return v1RevertRunningKeepsMemory{p} },
		},
		{
			Name: "clone-override-gi-ignored", Family: Clone,
			Bug: "the clone override's memory parser knows Mi and the decimal suffixes but not Gi: a memory of " +
				"\"8Gi\" is dropped and the clone keeps the source's memory, while the CPU is applied",
			V1: func(p v1Server) v1Server { return v1CloneOverrideGiIgnored{p} },
		},
		{
			Name: "snapshot-delete-by-name-hint", Family: Snapshot,
			Bug: "SnapshotDelete looks the snapshot up by the name hint it was taken with: of two snapshots " +
				"with the same name hint, deleting the newer one deletes the older one",
			V1: func(p v1Server) v1Server { return v1SnapshotDeleteByNameHint{p, &namedSnapshots{}} },
		},
		{
			Name: "power-targets-newest-vm", Family: Power,
			Bug: "a power call answers OK but acts on the most recently created VM (a \"current VM\" pointer " +
				"left over from create) instead of the VM it names",
			V1:       func(p v1Server) v1Server { return v1PowerTargetsNewest{p, &newestVM{}} },
			Tutorial: func(p tutServer) tutServer { return tutPowerTargetsNewest{p, &newestVM{}} },
		},
		{
			Name: "describe-deleting-internal", Family: Describe,
			Bug: "a delete runs for 150ms as a task; while it runs, Describe of the VM answers Internal " +
				"(\"domain is being destroyed\") instead of reporting it",
			V1: func(p v1Server) v1Server { return newV1DescribeDeletingInternal(p) },
		},
		{
			Name: "list-internal-on-dotted-name", Family: List,
			Bug:      "the list parser splits \"name.domain\": while any VM's name holds a dot, ListVMs answers Internal",
			V1:       func(p v1Server) v1Server { return v1ListInternalOnDot{p} },
			Tutorial: func(p tutServer) tutServer { return tutListInternalOnDot{p} },
		},
		{
			Name: "task-reboot-done-with-error", Family: Tasks,
			Bug: "the task of a successful reboot ends done=true with a non-empty error " +
				"(\"guest did not answer ACPI, reset instead\"); other tasks are clean",
			V1: func(p v1Server) v1Server { return v1RebootTaskError{p, &idSet{}} },
		},
		{
			Name: "validate-ok-with-failure-message", Family: Validate,
			Bug: "Validate answers ok=true with a message that reports a failure (the check's error is put in " +
				"the message and ok is left at its default of the last successful check)",
			V1: func(p v1Server) v1Server { return v1ValidateOKWithFailure{p} },
		},
		{
			Name: "snapshots-advertised-revert-unimplemented", Family: Capabilities,
			Bug: "advertises snapshots and takes them, but SnapshotRevert answers Unimplemented",
			V1:  func(p v1Server) v1Server { return v1RevertUnimplemented{p} },
		},
		{
			Name: "graceful-shutdown-past-deadline", Family: Power,
			Bug: "a graceful shutdown waits synchronously for the guest and ignores the client's deadline: it " +
				"answers (and stops the VM) after the client has given up",
			V1: func(p v1Server) v1Server { return v1GracefulPastDeadline{p} },
		},
		{
			Name: "list-ids-uppercase", Family: List,
			Bug: "ListVMs spells VM ids in upper case (the hypervisor's BIOS UUID) while Create and Describe " +
				"use the lower-case form",
			V1:       func(p v1Server) v1Server { return v1ListIDsUppercase{p} },
			Tutorial: func(p tutServer) tutServer { return tutListIDsUppercase{p} },
		},
		{
			Name: "snapshots-rotated-at-2", Family: Snapshot,
			Bug: "keeps at most two snapshots per VM: taking a third silently deletes the oldest (a retention " +
				"policy applied on create)",
			V1: func(p v1Server) v1Server { return v1SnapshotsRotated{p, &namedSnapshots{}} },
		},
		{
			Name: "hotplug-memory-rounded-to-gib", Family: Reconfigure,
			Bug: "memory added to a running VM is hot-plugged in 1 GiB DIMMs: a running VM reconfigured to a " +
				"size that is no whole number of GiB gets the next whole GiB; a stopped VM gets the size asked",
			V1:       func(p v1Server) v1Server { return v1HotplugRounded{p} },
			Tutorial: func(p tutServer) tutServer { return tutHotplugRounded{p} },
		},
		{
			Name: "clone-delete-removes-source-snapshots", Family: Clone,
			Bug: "a clone shares its source's snapshot tree; deleting the clone deletes every snapshot in it, " +
				"so the source loses its snapshots",
			V1: func(p v1Server) v1Server { return v1CloneDeleteRemovesSourceSnapshots{p, &clones{}, &namedSnapshots{}} },
		},
		{
			Name: "power-off-stops-clones", Family: Clone,
			Bug:      "a clone joins its source's power group (a vApp): powering the source off powers its clones off too",
			V1:       func(p v1Server) v1Server { return v1PowerOffStopsClones{p, &clones{}} },
			Tutorial: func(p tutServer) tutServer { return tutPowerOffStopsClones{p, &clones{}} },
		},
	}
}

// describeV1Power is a VM's power state as the real provider reports it.
func describeV1Power(ctx context.Context, p providerv1.ProviderServer, id string) (string, bool) {
	resp, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: id})
	if err != nil || !resp.GetExists() {
		return "", false
	}
	return resp.GetPowerState(), true
}

// resizeV1 sets a VM's CPU and memory through the real provider.
func resizeV1(ctx context.Context, p providerv1.ProviderServer, id, name string, cpu int32, memoryMiB int64) {
	desired := `{"Name":` + quoteJSON(name) + `,"Class":` + classJSON(cpu, memoryMiB) + `}`
	_, _ = p.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: desired})
}

// --- snapshot -----------------------------------------------------------------------------

// v1RevertRunningKeepsMemory reverts fully, then puts the memory the running VM had back.
type v1RevertRunningKeepsMemory struct{ providerv1.ProviderServer }

func (w v1RevertRunningKeepsMemory) SnapshotRevert(ctx context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	power, _ := describeV1Power(ctx, w.ProviderServer, req.GetVmId())
	before, found := describeV1(ctx, w.ProviderServer, req.GetVmId())
	resp, err := w.ProviderServer.SnapshotRevert(ctx, req)
	if err != nil || !found || power != "On" {
		return resp, err
	}
	if after, ok := describeV1(ctx, w.ProviderServer, req.GetVmId()); ok && after.MemoryMiB != before.MemoryMiB {
		resizeV1(ctx, w.ProviderServer, req.GetVmId(), after.Name, after.CPU, before.MemoryMiB)
	}
	return resp, nil
}

// namedSnapshots remembers each snapshot's VM and name hint, in the order they were taken.
type namedSnapshots struct {
	mu    sync.Mutex
	order []snapRecord
}

type snapRecord struct{ vm, id, hint string }

func (n *namedSnapshots) add(vm, id, hint string) {
	if id == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.order = append(n.order, snapRecord{vm, id, hint})
}

func (n *namedSnapshots) remove(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, r := range n.order {
		if r.id == id {
			n.order = append(n.order[:i:i], n.order[i+1:]...)
			return
		}
	}
}

// of lists a VM's snapshots, oldest first.
func (n *namedSnapshots) of(vm string) []snapRecord {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []snapRecord
	for _, r := range n.order {
		if r.vm == vm {
			out = append(out, r)
		}
	}
	return out
}

// v1SnapshotDeleteByNameHint deletes the oldest snapshot of the VM whose name hint is the one
// the named snapshot was taken with.
type v1SnapshotDeleteByNameHint struct {
	providerv1.ProviderServer
	snaps *namedSnapshots
}

func (w v1SnapshotDeleteByNameHint) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.snaps.add(req.GetVmId(), resp.GetSnapshotId(), req.GetNameHint())
	}
	return resp, err
}

func (w v1SnapshotDeleteByNameHint) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	target := req.GetSnapshotId()
	snaps := w.snaps.of(req.GetVmId())
	hint, known := "", false
	for _, r := range snaps {
		if r.id == target {
			hint, known = r.hint, true
		}
	}
	if known {
		for _, r := range snaps {
			if r.hint == hint {
				target = r.id // the first match by name
				break
			}
		}
	}
	resp, err := w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: target})
	if err == nil {
		w.snaps.remove(target)
	}
	return resp, err
}

// v1RevertUnimplemented has no revert, whatever the capabilities say.
type v1RevertUnimplemented struct{ providerv1.ProviderServer }

func (w v1RevertUnimplemented) SnapshotRevert(context.Context, *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method SnapshotRevert not implemented")
}

// snapshotRetention is how many snapshots per VM snapshots-rotated-at-2 keeps.
const snapshotRetention = 2

// v1SnapshotsRotated deletes a VM's oldest snapshots beyond the retention after each create.
type v1SnapshotsRotated struct {
	providerv1.ProviderServer
	snaps *namedSnapshots
}

func (w v1SnapshotsRotated) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err != nil {
		return resp, err
	}
	w.snaps.add(req.GetVmId(), resp.GetSnapshotId(), req.GetNameHint())
	snaps := w.snaps.of(req.GetVmId())
	for i := 0; i+snapshotRetention < len(snaps); i++ {
		_, _ = w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: req.GetVmId(), SnapshotId: snaps[i].id})
		w.snaps.remove(snaps[i].id)
	}
	return resp, nil
}

func (w v1SnapshotsRotated) SnapshotDelete(ctx context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.SnapshotDelete(ctx, req)
	if err == nil {
		w.snaps.remove(req.GetSnapshotId())
	}
	return resp, err
}

// --- clone --------------------------------------------------------------------------------

// v1CloneOverrideGiIgnored drops a memory override written in Gi.
type v1CloneOverrideGiIgnored struct{ providerv1.ProviderServer }

func (w v1CloneOverrideGiIgnored) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	var class map[string]any
	if json.Unmarshal([]byte(req.GetClassJson()), &class) == nil && class != nil {
		if m, ok := class["memory"].(string); ok && strings.HasSuffix(m, "Gi") {
			delete(class, "memory")
			req = proto.Clone(req).(*providerv1.CloneRequest)
			req.ClassJson = ""
			if len(class) > 0 {
				b, _ := json.Marshal(class)
				req.ClassJson = string(b)
			}
		}
	}
	return w.ProviderServer.Clone(ctx, req)
}

// v1CloneDeleteRemovesSourceSnapshots deletes the source's snapshots with a clone.
type v1CloneDeleteRemovesSourceSnapshots struct {
	providerv1.ProviderServer
	clones *clones
	snaps  *namedSnapshots
}

func (w v1CloneDeleteRemovesSourceSnapshots) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" && resp.GetTargetVmId() != req.GetSourceVmId() {
		w.clones.add(req.GetSourceVmId(), resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1CloneDeleteRemovesSourceSnapshots) SnapshotCreate(ctx context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	resp, err := w.ProviderServer.SnapshotCreate(ctx, req)
	if err == nil {
		w.snaps.add(req.GetVmId(), resp.GetSnapshotId(), req.GetNameHint())
	}
	return resp, err
}

// sourceOf is the VM id was cloned from.
func (w v1CloneDeleteRemovesSourceSnapshots) sourceOf(id string) string {
	w.clones.mu.Lock()
	defer w.clones.mu.Unlock()
	for src, cs := range w.clones.bySource {
		for _, c := range cs {
			if c == id {
				return src
			}
		}
	}
	return ""
}

func (w v1CloneDeleteRemovesSourceSnapshots) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	src := w.sourceOf(req.GetId())
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil && src != "" {
		for _, s := range w.snaps.of(src) {
			_, _ = w.ProviderServer.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: src, SnapshotId: s.id})
			w.snaps.remove(s.id)
		}
	}
	return resp, err
}

// v1PowerOffStopsClones powers a source's clones off with it.
type v1PowerOffStopsClones struct {
	providerv1.ProviderServer
	clones *clones
}

func (w v1PowerOffStopsClones) Clone(ctx context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	resp, err := w.ProviderServer.Clone(ctx, req)
	if err == nil && resp.GetTargetVmId() != "" && resp.GetTargetVmId() != req.GetSourceVmId() {
		w.clones.add(req.GetSourceVmId(), resp.GetTargetVmId())
	}
	return resp, err
}

func (w v1PowerOffStopsClones) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if op := req.GetOp(); err == nil && (op == providerv1.PowerOp_POWER_OP_OFF || op == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL) {
		for _, c := range w.clones.of(req.GetId()) {
			_, _ = w.ProviderServer.Power(ctx, &providerv1.PowerRequest{Id: c, Op: providerv1.PowerOp_POWER_OP_OFF})
		}
	}
	return resp, err
}

type tutPowerOffStopsClones struct {
	tutorialv1.ProviderServiceServer
	clones *clones
}

func (w tutPowerOffStopsClones) CloneVM(ctx context.Context, req *tutorialv1.CloneVMRequest) (*tutorialv1.CloneVMResponse, error) {
	resp, err := w.ProviderServiceServer.CloneVM(ctx, req)
	if err == nil && resp.GetCloneVmId() != "" && resp.GetCloneVmId() != req.GetSourceVmId() {
		w.clones.add(req.GetSourceVmId(), resp.GetCloneVmId())
	}
	return resp, err
}

func (w tutPowerOffStopsClones) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	resp, err := w.ProviderServiceServer.PowerVM(ctx, req)
	if err == nil && req.GetPowerOp() == tutorialv1.PowerOp_POWER_OP_OFF {
		for _, c := range w.clones.of(req.GetVmId()) {
			_, _ = w.ProviderServiceServer.PowerVM(ctx, &tutorialv1.PowerVMRequest{VmId: c, PowerOp: tutorialv1.PowerOp_POWER_OP_OFF})
		}
	}
	return resp, err
}

// --- power --------------------------------------------------------------------------------

// newestVM is the "current VM" pointer: the VM created last, cleared when it is deleted.
type newestVM struct {
	mu   sync.Mutex
	id   string
	seen map[string]bool
}

func (n *newestVM) created(id string) {
	if id == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[id] {
		return // a repeated create creates nothing
	}
	n.seen[id] = true
	n.id = id
}

func (n *newestVM) deleted(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.id == id {
		n.id = ""
	}
}

func (n *newestVM) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// v1PowerTargetsNewest powers the newest VM instead of the one named (when the named one exists).
type v1PowerTargetsNewest struct {
	providerv1.ProviderServer
	newest *newestVM
}

func (w v1PowerTargetsNewest) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	resp, err := w.ProviderServer.Create(ctx, req)
	if err == nil {
		w.newest.created(resp.GetId())
	}
	return resp, err
}

func (w v1PowerTargetsNewest) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Delete(ctx, req)
	if err == nil {
		w.newest.deleted(req.GetId())
	}
	return resp, err
}

func (w v1PowerTargetsNewest) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if n := w.newest.get(); n != "" && n != req.GetId() {
		if _, ok := describeV1Power(ctx, w.ProviderServer, req.GetId()); ok {
			req = proto.Clone(req).(*providerv1.PowerRequest)
			req.Id = n
		}
	}
	return w.ProviderServer.Power(ctx, req)
}

type tutPowerTargetsNewest struct {
	tutorialv1.ProviderServiceServer
	newest *newestVM
}

func (w tutPowerTargetsNewest) CreateVM(ctx context.Context, req *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	resp, err := w.ProviderServiceServer.CreateVM(ctx, req)
	if err == nil {
		w.newest.created(resp.GetVmId())
	}
	return resp, err
}

func (w tutPowerTargetsNewest) DeleteVM(ctx context.Context, req *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	resp, err := w.ProviderServiceServer.DeleteVM(ctx, req)
	if err == nil {
		w.newest.deleted(req.GetVmId())
	}
	return resp, err
}

func (w tutPowerTargetsNewest) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if n := w.newest.get(); n != "" && n != req.GetVmId() {
		if _, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok {
			req = proto.Clone(req).(*tutorialv1.PowerVMRequest)
			req.VmId = n
		}
	}
	return w.ProviderServiceServer.PowerVM(ctx, req)
}

// pastDeadline is how long after the client's deadline graceful-shutdown-past-deadline answers.
const pastDeadline = 300 * time.Millisecond

// v1GracefulPastDeadline sleeps past the caller's deadline before it shuts the VM down.
type v1GracefulPastDeadline struct{ providerv1.ProviderServer }

func (w v1GracefulPastDeadline) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() == providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL && req.GetId() != "" {
		if dl, ok := ctx.Deadline(); ok {
			time.Sleep(time.Until(dl) + pastDeadline) // the guest is waited for, not the client
		}
		// The work goes on after the client has given up.
		return w.ProviderServer.Power(context.WithoutCancel(ctx), req)
	}
	return w.ProviderServer.Power(ctx, req)
}

// --- describe -----------------------------------------------------------------------------

// deleteLag is how long describe-deleting-internal's deletes run, from the first time a
// client asks about their task.
const deleteLag = 150 * time.Millisecond

// polledTask is a task that runs for a lag from the first TaskStatus of it, so that the window
// before it is done never depends on how fast the client gets to ask. then runs when the lag is
// over, before the task reports done.
type polledTask struct {
	once sync.Once
	done chan struct{}
	then func()
}

func newPolledTask(then func()) *polledTask {
	return &polledTask{done: make(chan struct{}), then: then}
}

// poll starts the lag on the first call and reports whether the task is done.
func (t *polledTask) poll(lag time.Duration) bool {
	t.once.Do(func() {
		go func() {
			time.Sleep(lag)
			t.then()
			close(t.done)
		}()
	})
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// v1DescribeDeletingInternal runs deletes as tasks that take deleteLag; until one is done,
// Describe of its VM answers Internal.
type v1DescribeDeletingInternal struct {
	providerv1.ProviderServer
	mu       sync.Mutex
	deleting map[string]*polledTask // VM id → its delete
	tasks    map[string]*polledTask // task id → the delete it names
}

func newV1DescribeDeletingInternal(p providerv1.ProviderServer) *v1DescribeDeletingInternal {
	return &v1DescribeDeletingInternal{ProviderServer: p, deleting: map[string]*polledTask{}, tasks: map[string]*polledTask{}}
}

func (w *v1DescribeDeletingInternal) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	id := req.GetId()
	if _, ok := describeV1Power(ctx, w.ProviderServer, id); !ok {
		return w.ProviderServer.Delete(ctx, req) // unknown or malformed: the real answer
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t, running := w.deleting[id]
	if !running {
		t = newPolledTask(func() {
			_, _ = w.ProviderServer.Delete(context.Background(), &providerv1.DeleteRequest{Id: id})
			w.mu.Lock()
			delete(w.deleting, id)
			w.mu.Unlock()
		})
		w.deleting[id] = t
	}
	task := "delete-" + uuid.NewString()
	w.tasks[task] = t
	return &providerv1.TaskResponse{Task: &providerv1.TaskRef{Id: task}}, nil
}

func (w *v1DescribeDeletingInternal) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	w.mu.Lock()
	t, ok := w.tasks[req.GetTask().GetId()]
	w.mu.Unlock()
	if !ok {
		return w.ProviderServer.TaskStatus(ctx, req)
	}
	return &providerv1.TaskStatusResponse{Done: t.poll(deleteLag)}, nil
}

func (w *v1DescribeDeletingInternal) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	w.mu.Lock()
	_, deleting := w.deleting[req.GetId()]
	w.mu.Unlock()
	if deleting {
		return nil, status.Errorf(codes.Internal, "virDomainGetInfo: domain %s is being destroyed", req.GetId())
	}
	return w.ProviderServer.Describe(ctx, req)
}

// --- list ---------------------------------------------------------------------------------

func listDotError() error {
	return status.Error(codes.Internal, "parse domain list: unexpected '.' in domain name")
}

type v1ListInternalOnDot struct{ providerv1.ProviderServer }

func (w v1ListInternalOnDot) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	for _, vm := range resp.GetVms() {
		if strings.Contains(vm.GetName(), ".") {
			return nil, listDotError()
		}
	}
	return resp, err
}

type tutListInternalOnDot struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListInternalOnDot) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	for _, vm := range resp.GetVms() {
		if strings.Contains(vm.GetName(), ".") {
			return nil, listDotError()
		}
	}
	return resp, err
}

type v1ListIDsUppercase struct{ providerv1.ProviderServer }

func (w v1ListIDsUppercase) ListVMs(ctx context.Context, req *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	resp, err := w.ProviderServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := proto.Clone(resp).(*providerv1.ListVMsResponse)
	for _, vm := range out.GetVms() {
		vm.Id = strings.ToUpper(vm.GetId())
	}
	return out, nil
}

type tutListIDsUppercase struct {
	tutorialv1.ProviderServiceServer
}

func (w tutListIDsUppercase) ListVMs(ctx context.Context, req *tutorialv1.ListVMsRequest) (*tutorialv1.ListVMsResponse, error) {
	resp, err := w.ProviderServiceServer.ListVMs(ctx, req)
	if err != nil {
		return resp, err
	}
	out := proto.Clone(resp).(*tutorialv1.ListVMsResponse)
	for _, vm := range out.GetVms() {
		vm.VmId = strings.ToUpper(vm.GetVmId())
	}
	return out, nil
}

// --- tasks / validate ---------------------------------------------------------------------

// v1RebootTaskError ends every reboot task with done=true and an error.
type v1RebootTaskError struct {
	providerv1.ProviderServer
	tasks *idSet
}

func (w v1RebootTaskError) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Power(ctx, req)
	if err == nil && req.GetOp() == providerv1.PowerOp_POWER_OP_REBOOT {
		w.tasks.add(resp.GetTask().GetId())
	}
	return resp, err
}

func (w v1RebootTaskError) TaskStatus(ctx context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	resp, err := w.ProviderServer.TaskStatus(ctx, req)
	if err == nil && resp.GetDone() && w.tasks.has(req.GetTask().GetId()) {
		return &providerv1.TaskStatusResponse{Done: true, Error: "guest did not answer ACPI, reset instead"}, nil
	}
	return resp, err
}

type v1ValidateOKWithFailure struct{ providerv1.ProviderServer }

func (w v1ValidateOKWithFailure) Validate(context.Context, *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	return &providerv1.ValidateResponse{Ok: true, Message: "datastore ds1 unreachable: dial tcp 10.0.0.5:443: connection refused"}, nil
}

// --- reconfigure --------------------------------------------------------------------------

// gibUp rounds a size in MiB up to whole GiB.
func gibUp(mib int64) int64 {
	if mib <= 0 || mib%1024 == 0 {
		return mib
	}
	return (mib/1024 + 1) * 1024
}

// v1HotplugRounded rounds the memory of a running VM's reconfigure up to whole GiB.
type v1HotplugRounded struct{ providerv1.ProviderServer }

func (w v1HotplugRounded) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	resp, err := w.ProviderServer.Reconfigure(ctx, req)
	if err != nil {
		return resp, err
	}
	if power, ok := describeV1Power(ctx, w.ProviderServer, req.GetId()); ok && power == "On" {
		if vm, ok := describeV1(ctx, w.ProviderServer, req.GetId()); ok && gibUp(vm.MemoryMiB) != vm.MemoryMiB {
			resizeV1(ctx, w.ProviderServer, req.GetId(), vm.Name, vm.CPU, gibUp(vm.MemoryMiB))
		}
	}
	return resp, nil
}

type tutHotplugRounded struct {
	tutorialv1.ProviderServiceServer
}

func (w tutHotplugRounded) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if vm, ok := getTutorial(ctx, w.ProviderServiceServer, req.GetVmId()); ok && vm.GetStatus().GetState() == tutorialRunning &&
		req.GetSpec() != nil && gibUp(req.GetSpec().GetMemory()) != req.GetSpec().GetMemory() {
		req = proto.Clone(req).(*tutorialv1.UpdateVMRequest)
		req.Spec.Memory = gibUp(req.Spec.Memory)
	}
	return w.ProviderServiceServer.UpdateVM(ctx, req)
}
