// Package otherprovider is a second VirtRigaud v1 provider, written from scratch and held in
// memory, that behaves like a hypervisor-backed provider (Proxmox VE) wherever the contract
// leaves room: numeric vmids, an inventory that already holds a template and VMs nobody asked
// the suite about, every change applied asynchronously behind a task with a UPID, new VMs
// powered off, reconfigure only offline (a running VM is stopped for it), snapshot ids that are
// sanitised names, and a Describe raw JSON of its own shape.
//
// It exists so that the conformance suite is checked against a provider that is correct but
// unlike the reference file provider: a suite that fails it judges implementation choices, not
// the contract. It is a test fixture, not a product; nothing is persisted.
package otherprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// DefaultTaskDelay is how long a task takes unless Options.TaskDelay says otherwise.
const DefaultTaskDelay = 20 * time.Millisecond

// node is the one cluster node this provider pretends to run on; it appears in task ids.
const node = "node1"

// Options choose the optional behaviour. The zero value offers neither snapshots nor clones.
type Options struct {
	// Snapshots offers the snapshot RPCs (and advertises supports_snapshots).
	Snapshots bool
	// Clones offers Clone; without it every Clone answers Unimplemented.
	Clones bool
	// TaskDelay is how long every task runs before its change is applied; 0 means
	// DefaultTaskDelay.
	TaskDelay time.Duration
	// ReuseIDs hands out the lowest free vmid, as Proxmox's /cluster/nextid does, instead of
	// a vmid never used before.
	ReuseIDs bool
	// StrictTaskIDs answers InvalidArgument for a task id that is not a UPID: a real Proxmox
	// provider must parse the UPID to learn which node to ask about the task.
	StrictTaskIDs bool
	// MaxVMID lowers the largest vmid the node accepts (default and ceiling: 999999999); a
	// larger one is malformed, as on a node configured with a smaller vmid range.
	MaxVMID int
}

// Seeded VMs: the inventory a fresh provider already holds.
const (
	TemplateID   = "100"
	TemplateName = "ubuntu-22-04-template"
	WebID        = "101"
	WebName      = "web-1"
	DBID         = "102"
	DBName       = "db-1"
)

// Provider implements providerv1.ProviderServer. Safe for concurrent use.
type Provider struct {
	providerv1.UnimplementedProviderServer

	opts  Options
	delay time.Duration
	wg    sync.WaitGroup // tasks not yet applied

	mu      sync.Mutex
	vms     map[int]*vm
	names   map[string]int // names in use, pending creates included, VMs being deleted not
	tasks   map[string]*task
	next    int // the next vmid when ids are not reused
	taskSeq int
}

type vm struct {
	id       int
	name     string
	template bool
	cpu      int32
	memMiB   int64
	diskGiB  int64
	running  bool
	ready    bool  // its create or clone task has run
	source   int   // the vmid it was cloned from; 0 when it was not
	deleting *task // the queued delete
	snaps    []*snapshot
	last     *task // the latest task queued on this VM; the next one waits for it
}

type snapshot struct {
	name     string
	ready    bool
	deleting *task
	cpu      int32
	memMiB   int64
	running  bool
}

// task is one entry of the node's task log. A task never reports an error: requests are
// checked when they arrive, and the VM lock orders the changes, so an accepted one applies.
type task struct {
	id       string
	done     bool
	err      string // the task's exit status when it failed, as Proxmox reports it
	finished chan struct{}
}

// New returns a provider whose inventory holds a template and two VMs of its own.
func New(o Options) *Provider {
	p := &Provider{opts: o, delay: o.TaskDelay, vms: map[int]*vm{}, names: map[string]int{}, tasks: map[string]*task{}}
	if p.delay <= 0 {
		p.delay = DefaultTaskDelay
	}
	for _, v := range []*vm{
		{id: 100, name: TemplateName, template: true, cpu: 2, memMiB: 2048, diskGiB: 20},
		{id: 101, name: WebName, cpu: 2, memMiB: 4096, diskGiB: 32, running: true,
			snaps: []*snapshot{{name: "before-upgrade", ready: true, cpu: 2, memMiB: 2048, running: true}}},
		{id: 102, name: DBName, cpu: 4, memMiB: 8192, diskGiB: 100},
	} {
		v.ready = true
		p.vms[v.id], p.names[v.name] = v, v.id
	}
	p.next = 103
	return p
}

// Register serves the provider on s.
func (p *Provider) Register(s grpc.ServiceRegistrar) { providerv1.RegisterProviderServer(s, p) }

// Close waits until every task handed out has been applied. Call it once the server that
// serves the provider has stopped.
func (p *Provider) Close() { p.wg.Wait() }

// SnapshotNames lists the snapshots of a VM (nil for an unknown one): the wire protocol has
// no call for it, and tests want to see that the suite left the inventory alone.
func (p *Provider) SnapshotNames(id string) []string {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vms[n]
	if v == nil {
		return nil
	}
	var names []string
	for _, s := range v.snaps {
		names = append(names, s.name)
	}
	return names
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func notFound(n int) error {
	return status.Errorf(codes.NotFound, "VM %d does not exist on %s", n, node)
}

// schedule queues a task that applies its change after the task delay and after every task
// queued earlier on the VMs it touches, the way a hypervisor serialises work on a VM behind
// its lock. Called with p.mu held; apply runs with p.mu held. A nil apply is a task that only
// waits (a repeated request whose work is already queued).
func (p *Provider) schedule(kind string, vmid int, touches []*vm, apply func()) *task {
	p.taskSeq++
	t := &task{
		id:       fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%d:root@pam:", node, 0x4000+p.taskSeq, 0x100000+7*p.taskSeq, time.Now().Unix(), kind, vmid),
		finished: make(chan struct{}),
	}
	var before []*task
	for _, v := range touches {
		if v.last != nil {
			before = append(before, v.last)
		}
		v.last = t
	}
	p.tasks[t.id] = t
	p.wg.Add(1)
	time.AfterFunc(p.delay, func() {
		defer p.wg.Done()
		for _, b := range before {
			<-b.finished
		}
		p.mu.Lock()
		if apply != nil {
			apply()
		}
		t.done = true
		p.mu.Unlock()
		close(t.finished)
	})
	return t
}

func ref(t *task) *providerv1.TaskRef { return &providerv1.TaskRef{Id: t.id} }

// allocate picks the vmid of a new VM.
func (p *Provider) allocate() int {
	if p.opts.ReuseIDs {
		for id := minVMID; ; id++ {
			if p.vms[id] == nil {
				return id
			}
		}
	}
	for p.vms[p.next] != nil {
		p.next++
	}
	id := p.next
	p.next++
	return id
}

// live is a VM a client may act on: it exists (or its create is queued) and is not being
// deleted.
func (p *Provider) live(field, id string) (*vm, error) {
	n, err := p.parseVMID(field, id)
	if err != nil {
		return nil, err
	}
	v := p.vms[n]
	if v == nil || v.deleting != nil {
		return nil, notFound(n)
	}
	return v, nil
}

func (v *vm) snap(name string) *snapshot {
	for _, s := range v.snaps {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (v *vm) power() string {
	if v.running {
		return "On"
	}
	return "Off"
}

func (v *vm) mac() string {
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", v.id>>16&0xff, v.id>>8&0xff, v.id&0xff)
}

// ip is the address the guest agent of a running VM would report; a stopped VM has none.
func (v *vm) ip() string {
	if !v.running {
		return ""
	}
	return fmt.Sprintf("10.10.%d.%d", v.id/250%250, v.id%250+2)
}

func (v *vm) ips() []string {
	if ip := v.ip(); ip != "" {
		return []string{ip}
	}
	return nil
}

// GetCapabilities: no online reconfigure, no memory snapshots, no linked clones, no disk
// transfer. The v1 protocol has no clone flag; Clone itself answers for that.
func (p *Provider) GetCapabilities(context.Context, *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	return &providerv1.GetCapabilitiesResponse{
		SupportsSnapshots:     p.opts.Snapshots,
		SupportedDiskTypes:    []string{"raw", "qcow2"},
		SupportedNetworkTypes: []string{"virtio", "e1000"},
	}, nil
}

// Validate reports the node as healthy.
func (p *Provider) Validate(context.Context, *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	p.mu.Lock()
	n := len(p.vms)
	p.mu.Unlock()
	return &providerv1.ValidateResponse{Ok: true, Message: fmt.Sprintf("%s online, %d guests", node, n)}, nil
}

// Create makes a VM from a template of the inventory, powered off. The name is the VM: a
// repeated create answers the same vmid and a task that ends once the VM is there.
func (p *Provider) Create(_ context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	hw, err := createClass(req.GetClassJson())
	if err != nil {
		return nil, err
	}
	tmpl, err := templateName(req.GetImageJson())
	if err != nil {
		return nil, err
	}
	disk, err := diskGiB(req.GetDisksJson())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.names[req.GetName()]; ok {
		v := p.vms[id]
		return &providerv1.CreateResponse{Id: strconv.Itoa(id), Task: ref(p.schedule("qmcreate", id, []*vm{v}, nil))}, nil
	}
	var from *vm
	for _, v := range p.vms {
		if v.template && v.name == tmpl && v.deleting == nil {
			from = v
		}
	}
	if from == nil {
		return nil, invalid("image_json: template %.64q does not exist on %s", tmpl, node)
	}
	if disk == 0 {
		disk = from.diskGiB
	}
	v := &vm{id: p.allocate(), name: req.GetName(), cpu: *hw.cpu, memMiB: *hw.mem, diskGiB: disk}
	p.vms[v.id], p.names[v.name] = v, v.id
	t := p.schedule("qmclone", from.id, []*vm{v}, func() {
		v.ready = true
	})
	return &providerv1.CreateResponse{Id: strconv.Itoa(v.id), Task: ref(t)}, nil
}

// Describe: a malformed vmid is InvalidArgument, a well-formed one nobody holds exists=false.
func (p *Provider) Describe(_ context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	n, err := p.parseVMID("id", req.GetId())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vms[n]
	if v == nil || !v.ready {
		return &providerv1.DescribeResponse{Exists: false}, nil
	}
	raw, err := json.Marshal(v.raw())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding VM %d: %v", n, err)
	}
	return &providerv1.DescribeResponse{
		Exists:          true,
		PowerState:      v.power(),
		Ips:             v.ips(),
		ConsoleUrl:      fmt.Sprintf("https://%s:8006/?console=kvm&novnc=1&vmid=%d", node, v.id),
		ProviderRawJson: string(raw),
	}, nil
}

// rawStatus is Proxmox's status/current answer with the VM's config nested in it. Its "cpu"
// is a load fraction and its memory is in bytes, which a reader must not take for the
// VM's CPU count and MiB.
type rawStatus struct {
	VMID      int       `json:"vmid"`
	Name      string    `json:"name"`
	Node      string    `json:"node"`
	Status    string    `json:"status"`
	QMPStatus string    `json:"qmpstatus"`
	Template  int       `json:"template"`
	CPUs      int32     `json:"cpus"`
	CPU       float64   `json:"cpu"`
	MaxMem    int64     `json:"maxmem"`
	Mem       int64     `json:"mem"`
	MaxDisk   int64     `json:"maxdisk"`
	Config    rawConfig `json:"config"`
}

type rawConfig struct {
	Cores   int32  `json:"cores"`
	Sockets int    `json:"sockets"`
	Memory  string `json:"memory"`
	CPU     string `json:"cpu"`
	SCSI0   string `json:"scsi0"`
	Net0    string `json:"net0"`
}

func (v *vm) raw() rawStatus {
	r := rawStatus{
		VMID: v.id, Name: v.name, Node: node, Status: "stopped", QMPStatus: "stopped",
		CPUs: v.cpu, MaxMem: v.memMiB << 20, MaxDisk: v.diskGiB << 30,
		Config: rawConfig{
			Cores: v.cpu, Sockets: 1, Memory: strconv.FormatInt(v.memMiB, 10), CPU: "x86-64-v2-AES",
			SCSI0: fmt.Sprintf("local-lvm:vm-%d-disk-0,size=%dG", v.id, v.diskGiB),
			Net0:  fmt.Sprintf("virtio=%s,bridge=vmbr0", v.mac()),
		},
	}
	if v.template {
		r.Template = 1
	}
	if v.running {
		r.Status, r.QMPStatus, r.CPU, r.Mem = "running", "running", 0.0125, v.memMiB<<19
	}
	return r
}

// ListVMs lists every VM of the node, templates included, by vmid.
func (p *Provider) ListVMs(context.Context, *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]int, 0, len(p.vms))
	for id, v := range p.vms {
		if v.ready {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := &providerv1.ListVMsResponse{}
	for _, id := range ids {
		v := p.vms[id]
		info := &providerv1.VMInfo{
			Id: strconv.Itoa(id), Name: v.name, PowerState: v.power(), Ips: v.ips(),
			Cpu: v.cpu, MemoryMib: v.memMiB,
			Disks:       []*providerv1.DiskInfo{{Id: "scsi0", Path: fmt.Sprintf("local-lvm:vm-%d-disk-0", id), SizeGib: int32(v.diskGiB), Format: "raw"}},
			Networks:    []*providerv1.NetworkInfo{{Name: "net0", Mac: v.mac(), IpAddress: v.ip()}},
			ProviderRaw: map[string]string{"node": node, "template": strconv.Itoa(v.raw().Template)},
		}
		out.Vms = append(out.Vms, info)
	}
	return out, nil
}

// Power: ON and REBOOT end running, OFF and SHUTDOWN_GRACEFUL stopped. A template cannot run.
// As Proxmox's qmreboot, a reboot of a stopped VM is a task that fails: it starts nothing.
func (p *Provider) Power(_ context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if _, err := p.parseVMID("id", req.GetId()); err != nil {
		return nil, err
	}
	var running bool
	var kind string
	switch req.GetOp() {
	case providerv1.PowerOp_POWER_OP_ON:
		running, kind = true, "qmstart"
	case providerv1.PowerOp_POWER_OP_REBOOT:
		running, kind = true, "qmreboot"
	case providerv1.PowerOp_POWER_OP_OFF:
		kind = "qmstop"
	case providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL:
		kind = "qmshutdown"
	default:
		return nil, invalid("op %d is not a power operation (want ON, OFF, REBOOT or SHUTDOWN_GRACEFUL)", int32(req.GetOp()))
	}
	if req.GetGracefulTimeoutSeconds() < 0 {
		return nil, invalid("graceful_timeout_seconds must not be negative, got %d", req.GetGracefulTimeoutSeconds())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.live("id", req.GetId())
	if err != nil {
		return nil, err
	}
	if v.template && running {
		return nil, status.Errorf(codes.FailedPrecondition, "VM %d is a template and cannot be started", v.id)
	}
	var t *task
	t = p.schedule(kind, v.id, []*vm{v}, func() {
		if kind == "qmreboot" && !v.running {
			t.err = fmt.Sprintf("VM %d not running", v.id)
			return
		}
		v.running = running
	})
	return &providerv1.TaskResponse{Task: ref(t)}, nil
}

// Reconfigure applies the desired Class. Without online reconfigure, a running VM is shut
// down for the change and left stopped.
func (p *Provider) Reconfigure(_ context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if _, err := p.parseVMID("id", req.GetId()); err != nil {
		return nil, err
	}
	hw, err := desiredClass(req.GetDesiredJson())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.live("id", req.GetId())
	if err != nil {
		return nil, err
	}
	t := p.schedule("qmconfig", v.id, []*vm{v}, func() {
		v.running = false
		if hw.cpu != nil {
			v.cpu = *hw.cpu
		}
		if hw.mem != nil {
			v.memMiB = *hw.mem
		}
	})
	return &providerv1.TaskResponse{Task: ref(t)}, nil
}

// Delete destroys a VM with its snapshots. A vmid nobody holds is deleted already.
func (p *Provider) Delete(_ context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	n, err := p.parseVMID("id", req.GetId())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vms[n]
	switch {
	case v == nil:
		return &providerv1.TaskResponse{Task: ref(p.schedule("qmdestroy", n, nil, nil))}, nil
	case v.deleting != nil:
		return &providerv1.TaskResponse{Task: ref(v.deleting)}, nil
	}
	if p.names[v.name] == v.id {
		delete(p.names, v.name) // a create of this name from now on makes a new VM
	}
	v.deleting = p.schedule("qmdestroy", n, []*vm{v}, func() {
		delete(p.vms, v.id)
	})
	return &providerv1.TaskResponse{Task: ref(v.deleting)}, nil
}

// TaskStatus reports a task; finished tasks are kept, as the node's task log keeps them.
func (p *Provider) TaskStatus(_ context.Context, req *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	if req.GetTask() == nil {
		return nil, invalid("task is required")
	}
	id := req.GetTask().GetId()
	if id == "" {
		return nil, invalid("task id is required")
	}
	if p.opts.StrictTaskIDs && !isUPID(id) {
		return nil, invalid("task id %.80q is not a UPID", id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tasks[id]
	if t == nil {
		return nil, status.Errorf(codes.NotFound, "task %.80q not found on %s", id, node)
	}
	return &providerv1.TaskStatusResponse{Done: t.done, Error: t.err}, nil
}

// isUPID: UPID:node:pid:pstart:starttime:type:id:user: (nine fields, the last empty).
func isUPID(id string) bool {
	parts := strings.Split(id, ":")
	return len(parts) == 9 && parts[0] == "UPID" && parts[1] != "" && parts[8] == ""
}

// SnapshotCreate takes a disk-only snapshot named after the hint.
func (p *Provider) SnapshotCreate(_ context.Context, req *providerv1.SnapshotCreateRequest) (*providerv1.SnapshotCreateResponse, error) {
	if !p.opts.Snapshots {
		return nil, status.Error(codes.Unimplemented, "snapshots are not offered")
	}
	if _, err := p.parseVMID("vm_id", req.GetVmId()); err != nil {
		return nil, err
	}
	if req.GetIncludeMemory() {
		return nil, status.Error(codes.Unimplemented, "memory snapshots are not offered (supports_memory_snapshots=false)")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.live("vm_id", req.GetVmId())
	if err != nil {
		return nil, err
	}
	if v.template {
		return nil, status.Errorf(codes.FailedPrecondition, "VM %d is a template; templates have no snapshots", v.id)
	}
	s := &snapshot{name: uniqueSnapName(snapName(req.GetNameHint()), func(n string) bool { return v.snap(n) != nil })}
	v.snaps = append(v.snaps, s)
	t := p.schedule("qmsnapshot", v.id, []*vm{v}, func() {
		s.cpu, s.memMiB, s.running, s.ready = v.cpu, v.memMiB, v.running, true
	})
	return &providerv1.SnapshotCreateResponse{SnapshotId: s.name, Task: ref(t)}, nil
}

// SnapshotRevert restores the hardware and power state the snapshot recorded.
func (p *Provider) SnapshotRevert(_ context.Context, req *providerv1.SnapshotRevertRequest) (*providerv1.TaskResponse, error) {
	if !p.opts.Snapshots {
		return nil, status.Error(codes.Unimplemented, "snapshots are not offered")
	}
	if _, err := p.parseVMID("vm_id", req.GetVmId()); err != nil {
		return nil, err
	}
	if err := checkSnapID(req.GetSnapshotId()); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.live("vm_id", req.GetVmId())
	if err != nil {
		return nil, err
	}
	s := v.snap(req.GetSnapshotId())
	if s == nil || s.deleting != nil {
		return nil, status.Errorf(codes.NotFound, "VM %d has no snapshot %q", v.id, req.GetSnapshotId())
	}
	t := p.schedule("qmrollback", v.id, []*vm{v}, func() {
		v.cpu, v.memMiB, v.running = s.cpu, s.memMiB, s.running
	})
	return &providerv1.TaskResponse{Task: ref(t)}, nil
}

// SnapshotDelete removes a snapshot; one that is not there (or whose VM is not) is deleted
// already.
func (p *Provider) SnapshotDelete(_ context.Context, req *providerv1.SnapshotDeleteRequest) (*providerv1.TaskResponse, error) {
	if !p.opts.Snapshots {
		return nil, status.Error(codes.Unimplemented, "snapshots are not offered")
	}
	n, err := p.parseVMID("vm_id", req.GetVmId())
	if err != nil {
		return nil, err
	}
	if err := checkSnapID(req.GetSnapshotId()); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vms[n]
	var s *snapshot
	if v != nil && v.deleting == nil {
		s = v.snap(req.GetSnapshotId())
	}
	switch {
	case s == nil:
		return &providerv1.TaskResponse{Task: ref(p.schedule("qmdelsnapshot", n, nil, nil))}, nil
	case s.deleting != nil:
		return &providerv1.TaskResponse{Task: ref(s.deleting)}, nil
	}
	s.deleting = p.schedule("qmdelsnapshot", n, []*vm{v}, func() {
		v.snaps = slices.DeleteFunc(v.snaps, func(x *snapshot) bool { return x == s })
	})
	return &providerv1.TaskResponse{Task: ref(s.deleting)}, nil
}

// Clone makes a full, stopped copy of a VM, with the CRD class override when one is given.
// A target name already held by a clone of the same source is that clone (the manager
// retries clones whose answer it lost).
func (p *Provider) Clone(_ context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if !p.opts.Clones {
		return nil, status.Error(codes.Unimplemented, "clones are not offered")
	}
	if _, err := p.parseVMID("source_vm_id", req.GetSourceVmId()); err != nil {
		return nil, err
	}
	if err := checkName("target_name", req.GetTargetName()); err != nil {
		return nil, err
	}
	hw, err := cloneClass(req.GetClassJson())
	if err != nil {
		return nil, err
	}
	if req.GetLinked() {
		return nil, status.Error(codes.Unimplemented, "linked clones are not offered (supports_linked_clones=false)")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	src, err := p.live("source_vm_id", req.GetSourceVmId())
	if err != nil {
		return nil, err
	}
	if id, ok := p.names[req.GetTargetName()]; ok {
		v := p.vms[id]
		if v.source != src.id {
			return nil, status.Errorf(codes.AlreadyExists, "the name %q is held by VM %d, which is not a clone of VM %d", v.name, v.id, src.id)
		}
		return &providerv1.CloneResponse{TargetVmId: strconv.Itoa(id), Task: ref(p.schedule("qmclone", src.id, []*vm{v}, nil))}, nil
	}
	c := &vm{id: p.allocate(), name: req.GetTargetName(), source: src.id}
	p.vms[c.id], p.names[c.name] = c, c.id
	t := p.schedule("qmclone", src.id, []*vm{src, c}, func() {
		c.cpu, c.memMiB, c.diskGiB = src.cpu, src.memMiB, src.diskGiB
		if hw.cpu != nil {
			c.cpu = *hw.cpu
		}
		if hw.mem != nil {
			c.memMiB = *hw.mem
		}
		c.ready = true
	})
	return &providerv1.CloneResponse{TargetVmId: strconv.Itoa(c.id), Task: ref(t)}, nil
}
