// Package thirdprovider is a third VirtRigaud v1 provider, written by an independent reviewer
// from the wire facts and the contract alone, without reading the suite or the other
// providers. It keeps an in-memory inventory and makes, behind flags, the choices the contract
// leaves open: id formats (uuid, vm-<uuid>, reused numbers, sequence, the name itself),
// synchronous or asynchronous calls (nil or empty TaskRef), VMs created On, pre-existing and
// odd inventory, snapshot ids, linked clones, argument checks before capability checks, a
// desired state that must list the disks, offline reconfigure that powers the VM off.
//
// The suite must pass it in every combination (see suite_test.go): a failure there judges an
// implementation choice, not the contract. It is a test fixture, not a product.
package thirdprovider

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/vctsio/vcts/proto/gen/provider/v1"
)

type options struct {
	idFmt         string // uuid | prefix | pve | seq
	strictIDs     bool   // malformed ids => InvalidArgument
	taskFmt       string // uuid | upid
	strictTaskIDs bool
	asyncRPCs     map[string]bool
	minDelay      time.Duration
	maxDelay      time.Duration
	emptyTask     string // nil | empty  (how a synchronous result is signalled)
	powerOnCreate bool
	createVisible string // immediate | ondone
	emptyClass    string // reject | default
	preexisting   int
	snapshots     bool
	memSnapshots  bool
	snapIDFmt     string // seq | uuid | name
	revertPower   string // keep | vsphere
	clones        string // none | full | linked
	linkedStrict  bool
	reconfOffline bool
	nameRule      string        // any | dns
	snapDelUnkVM  string        // notfound | ok
	cloneIdem     bool          // repeated clone of the same source to the same name returns the same clone
	taskTTL       time.Duration // forget a task this long after it completed (0 = keep forever)
	reconfMode    string        // with reconf-offline: reject (FailedPrecondition) | poweroff (power off, apply, leave Off)
	desiredWhole  bool          // desired_json is the whole spec: it must list the VM's disks (no disk list = remove all disks => rejected)
	noTaskStatus  bool          // fully synchronous provider: TaskStatus is not offered (Unimplemented)
	validateFirst bool          // check arguments before capability (Clone/Snapshot on a provider without them)
}

type snap struct {
	id, name    string
	cpu         int32
	mem         int64
	power       string
	withMemory  bool
	description string
	takenAt     time.Time
}

type vm struct {
	id, name  string
	cpu       int32
	mem       int64
	diskGiB   int32
	power     string
	snaps     map[string]*snap
	snapSeq   int
	pending   bool // creation not yet completed
	preexist  bool
	nextReady time.Time
	ipOctet   int
	createdAt time.Time
	linkedOf  string
	cloneOf   string
	clones    int // number of linked clones based on this VM
}

type task struct {
	id       string
	op       string
	done     bool
	err      string
	deadline time.Time
	polls    int
}

// Server implements providerv1.ProviderServer. Safe for concurrent use.
type Server struct {
	// touchedInventory lists pre-existing VMs a client deleted (the suite must never).
	touchedInventory []string
	pb.UnimplementedProviderServer
	o      options
	mu     sync.Mutex
	vms    map[string]*vm
	byName map[string]string
	tasks  map[string]*task
	seq    int
	ipSeq  int
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var (
	uuidRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	numRe   = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	upidRe  = regexp.MustCompile(`^UPID:[a-z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[a-z]+:[^:]*:root@pam:$`)
	dnsRe   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	quantRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$`)
)

func (s *Server) newVMID(name string) string {
	switch s.o.idFmt {
	case "name": // libvirt style: the domain name is the id
		return name
	case "uuid":
		return newUUID()
	case "pve": // Proxmox style: lowest free VMID >= 100 (ids are reused)
		for n := 100; ; n++ {
			if _, ok := s.vms[strconv.Itoa(n)]; !ok {
				return strconv.Itoa(n)
			}
		}
	case "seq":
		s.seq++
		return strconv.Itoa(1000 + s.seq)
	default:
		return "vm-" + newUUID()
	}
}

func (s *Server) wellFormedVMID(id string) bool {
	switch s.o.idFmt {
	case "name":
		return true
	case "uuid":
		return uuidRe.MatchString(id)
	case "pve", "seq":
		return numRe.MatchString(id)
	default:
		return strings.HasPrefix(id, "vm-") && uuidRe.MatchString(strings.TrimPrefix(id, "vm-"))
	}
}

// checkVMID: empty => InvalidArgument; malformed => InvalidArgument when strict.
func (s *Server) checkVMID(field, id string) error {
	if id == "" {
		return status.Errorf(codes.InvalidArgument, "%s is required", field)
	}
	if s.o.strictIDs && !s.wellFormedVMID(id) {
		return status.Errorf(codes.InvalidArgument, "%s %q is not a well-formed VM id (format %s)", field, id, s.o.idFmt)
	}
	return nil
}

func (s *Server) newTaskID(op, vmid string) string {
	if s.o.taskFmt == "upid" {
		now := time.Now()
		return fmt.Sprintf("UPID:pve1:%08X:%08X:%08X:%s:%s:root@pam:", mrand.IntN(1<<31), mrand.IntN(1<<31), now.Unix(), op, vmid)
	}
	return "task-" + newUUID()
}

func (s *Server) isAsync(rpc string) bool { return s.o.asyncRPCs["all"] || s.o.asyncRPCs[rpc] }

func (s *Server) syncRef() *pb.TaskRef {
	if s.o.emptyTask == "empty" {
		return &pb.TaskRef{Id: ""}
	}
	return nil
}

// schedule runs apply either now (sync) or after a delay, serialised per VM. Caller holds s.mu.
func (s *Server) schedule(rpc string, v *vm, apply func()) *pb.TaskRef {
	if !s.isAsync(rpc) {
		apply()
		return s.syncRef()
	}
	d := s.o.minDelay
	if s.o.maxDelay > s.o.minDelay {
		d += time.Duration(mrand.Int64N(int64(s.o.maxDelay - s.o.minDelay)))
	}
	start := time.Now()
	if v != nil && v.nextReady.After(start) {
		start = v.nextReady
	}
	deadline := start.Add(d)
	if v != nil {
		v.nextReady = deadline
	}
	vmid := ""
	if v != nil {
		vmid = v.id
	}
	t := &task{id: s.newTaskID(rpc, vmid), op: rpc, deadline: deadline}
	s.tasks[t.id] = t
	go func() {
		time.Sleep(time.Until(deadline))
		s.mu.Lock()
		defer s.mu.Unlock()
		apply()
		t.done = true
		if s.o.taskTTL > 0 {
			time.AfterFunc(s.o.taskTTL, func() { s.mu.Lock(); delete(s.tasks, t.id); s.mu.Unlock() })
		}
	}()
	return &pb.TaskRef{Id: t.id}
}

func (s *Server) ipOf(v *vm) []string {
	if v.power != "On" {
		return nil
	}
	return []string{fmt.Sprintf("10.20.%d.%d", v.ipOctet/250, 2+v.ipOctet%250)}
}

// lookup finds a VM that is visible (not pending when createVisible=ondone).
func (s *Server) lookup(id string) (*vm, bool) {
	v, ok := s.vms[id]
	if !ok {
		return nil, false
	}
	if v.pending && s.o.createVisible == "ondone" {
		return nil, false
	}
	return v, true
}

// ---- RPCs ----

func (s *Server) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{Ok: true, Message: "indep provider healthy"}, nil
}

func (s *Server) GetCapabilities(context.Context, *pb.GetCapabilitiesRequest) (*pb.GetCapabilitiesResponse, error) {
	return &pb.GetCapabilitiesResponse{
		SupportsReconfigureOnline: !s.o.reconfOffline,
		SupportsSnapshots:         s.o.snapshots,
		SupportsMemorySnapshots:   s.o.snapshots && s.o.memSnapshots,
		SupportsLinkedClones:      s.o.clones == "linked",
		SupportedDiskTypes:        []string{"thin", "thick"},
		SupportedNetworkTypes:     []string{"bridge"},
	}, nil
}

type goClass struct {
	CPU       *int32
	MemoryMiB *int64
}

func parseGoClass(raw string, emptyMode string) (int32, int64, error) {
	if strings.TrimSpace(raw) == "" {
		if emptyMode == "default" {
			return 1, 1024, nil
		}
		return 0, 0, status.Error(codes.InvalidArgument, "class_json is required")
	}
	var c goClass
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return 0, 0, status.Errorf(codes.InvalidArgument, "class_json: %v", err)
	}
	if c.CPU == nil || *c.CPU <= 0 {
		return 0, 0, status.Error(codes.InvalidArgument, "class_json: CPU must be positive")
	}
	if c.MemoryMiB == nil || *c.MemoryMiB <= 0 {
		return 0, 0, status.Error(codes.InvalidArgument, "class_json: MemoryMiB must be positive")
	}
	return *c.CPU, *c.MemoryMiB, nil
}

func (s *Server) Create(_ context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	if r.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if s.o.nameRule == "dns" && !dnsRe.MatchString(r.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "name %q must be an RFC 1123 DNS label", r.GetName())
	}
	cpu, mem, err := parseGoClass(r.GetClassJson(), s.o.emptyClass)
	if err != nil {
		return nil, err
	}
	disk := int32(16)
	if strings.TrimSpace(r.GetDisksJson()) != "" {
		var ds []struct{ SizeGiB int32 }
		if err := json.Unmarshal([]byte(r.GetDisksJson()), &ds); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "disks_json: %v", err)
		}
		if len(ds) > 0 && ds[0].SizeGiB > 0 {
			disk = ds[0].SizeGiB
		}
	}
	if strings.TrimSpace(r.GetImageJson()) != "" && !json.Valid([]byte(r.GetImageJson())) {
		return nil, status.Error(codes.InvalidArgument, "image_json is not valid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byName[r.GetName()]; ok {
		v := s.vms[id]
		// Idempotent by name: same id, nothing new. Still-pending creation: a task that ends
		// when the original does.
		if v.pending {
			return &pb.CreateResponse{Id: id, Task: s.schedule("create", v, func() {})}, nil
		}
		return &pb.CreateResponse{Id: id, Task: s.syncRef()}, nil
	}
	id := s.newVMID(r.GetName())
	s.ipSeq++
	v := &vm{id: id, name: r.GetName(), cpu: cpu, mem: mem, diskGiB: disk, power: "Off",
		snaps: map[string]*snap{}, pending: true, ipOctet: s.ipSeq, createdAt: time.Now()}
	s.vms[id] = v
	s.byName[v.name] = id
	ref := s.schedule("create", v, func() {
		v.pending = false
		if s.o.powerOnCreate {
			v.power = "On"
		}
	})
	return &pb.CreateResponse{Id: id, Task: ref}, nil
}

func (s *Server) Delete(_ context.Context, r *pb.DeleteRequest) (*pb.TaskResponse, error) {
	if err := s.checkVMID("id", r.GetId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vms[r.GetId()]
	if !ok {
		return &pb.TaskResponse{Task: s.schedule("delete", nil, func() {})}, nil // idempotent
	}
	if v.preexist {
		s.touchedInventory = append(s.touchedInventory, v.id)
	}
	if v.clones > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "VM %s is the base of %d linked clone(s)", v.id, v.clones)
	}
	ref := s.schedule("delete", v, func() {
		if cur, ok := s.vms[v.id]; ok && cur == v {
			delete(s.vms, v.id)
			if s.byName[v.name] == v.id {
				delete(s.byName, v.name)
			}
			if v.linkedOf != "" {
				if b, ok := s.vms[v.linkedOf]; ok {
					b.clones--
				}
			}
		}
	})
	return &pb.TaskResponse{Task: ref}, nil
}

func (s *Server) Power(_ context.Context, r *pb.PowerRequest) (*pb.TaskResponse, error) {
	if err := s.checkVMID("id", r.GetId()); err != nil {
		return nil, err
	}
	var target string
	switch r.GetOp() {
	case pb.PowerOp_POWER_OP_ON, pb.PowerOp_POWER_OP_REBOOT:
		target = "On"
	case pb.PowerOp_POWER_OP_OFF, pb.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL:
		target = "Off"
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unsupported power op %d", int32(r.GetOp()))
	}
	if r.GetGracefulTimeoutSeconds() < 0 {
		return nil, status.Error(codes.InvalidArgument, "graceful_timeout_seconds must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "VM %s not found", r.GetId())
	}
	return &pb.TaskResponse{Task: s.schedule("power", v, func() { v.power = target })}, nil
}

type desired struct {
	Class *goClass
	Disks []struct{ SizeGiB int32 }
}

func (s *Server) Reconfigure(_ context.Context, r *pb.ReconfigureRequest) (*pb.TaskResponse, error) {
	if err := s.checkVMID("id", r.GetId()); err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.GetDesiredJson()) == "" {
		return nil, status.Error(codes.InvalidArgument, "desired_json is required")
	}
	var d desired
	if err := json.Unmarshal([]byte(r.GetDesiredJson()), &d); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "desired_json: %v", err)
	}
	if s.o.desiredWhole && len(d.Disks) == 0 {
		return nil, status.Error(codes.InvalidArgument, "desired_json is the whole desired VM spec and lists no disks; removing the boot disk is not allowed")
	}
	if d.Class != nil {
		if d.Class.CPU != nil && *d.Class.CPU <= 0 {
			return nil, status.Error(codes.InvalidArgument, "Class.CPU must be positive")
		}
		if d.Class.MemoryMiB != nil && *d.Class.MemoryMiB <= 0 {
			return nil, status.Error(codes.InvalidArgument, "Class.MemoryMiB must be positive")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "VM %s not found", r.GetId())
	}
	powerOff := false
	if s.o.reconfOffline && v.power == "On" && s.o.reconfMode == "poweroff" {
		powerOff = true
	} else if s.o.reconfOffline && v.power == "On" {
		return nil, status.Errorf(codes.FailedPrecondition, "VM %s must be powered off to reconfigure (supports_reconfigure_online=false)", v.id)
	}
	return &pb.TaskResponse{Task: s.schedule("reconfigure", v, func() {
		if powerOff {
			v.power = "Off"
		}
		if d.Class != nil {
			if d.Class.CPU != nil {
				v.cpu = *d.Class.CPU
			}
			if d.Class.MemoryMiB != nil {
				v.mem = *d.Class.MemoryMiB
			}
		}
		if len(d.Disks) > 0 && d.Disks[0].SizeGiB > v.diskGiB {
			v.diskGiB = d.Disks[0].SizeGiB
		}
	})}, nil
}

func (s *Server) Describe(_ context.Context, r *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	if err := s.checkVMID("id", r.GetId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetId())
	if !ok {
		return &pb.DescribeResponse{Exists: false}, nil
	}
	raw, _ := json.Marshal(map[string]any{
		"moref": "vm-" + strconv.Itoa(1000+v.ipOctet),
		"config": map[string]any{"hardware": map[string]any{"numCPU": v.cpu, "memoryMB": v.mem},
			"name": v.name, "uuid": v.id},
		"runtime":   map[string]any{"powerState": map[string]string{"On": "poweredOn", "Off": "poweredOff"}[v.power]},
		"snapshots": len(v.snaps),
	})
	return &pb.DescribeResponse{Exists: true, PowerState: v.power, Ips: s.ipOf(v),
		ConsoleUrl: fmt.Sprintf("vnc://127.0.0.1:%d", 5900+v.ipOctet), ProviderRawJson: string(raw)}, nil
}

func (s *Server) TaskStatus(_ context.Context, r *pb.TaskStatusRequest) (*pb.TaskStatusResponse, error) {
	if s.o.noTaskStatus {
		return nil, status.Error(codes.Unimplemented, "this provider completes every operation synchronously and hands out no tasks")
	}
	if r.GetTask() == nil || r.GetTask().GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "task id is required")
	}
	id := r.GetTask().GetId()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		if s.o.strictTaskIDs {
			wf := upidRe.MatchString(id)
			if s.o.taskFmt != "upid" {
				wf = strings.HasPrefix(id, "task-") && uuidRe.MatchString(strings.TrimPrefix(id, "task-"))
			}
			if !wf {
				return nil, status.Errorf(codes.InvalidArgument, "task id %q is malformed", id)
			}
		}
		return nil, status.Errorf(codes.NotFound, "task %s not found", id)
	}
	t.polls++
	return &pb.TaskStatusResponse{Done: t.done, Error: t.err}, nil
}

func (s *Server) newSnapID(v *vm, hint string) (string, error) {
	switch s.o.snapIDFmt {
	case "uuid":
		return newUUID(), nil
	case "name": // Proxmox style: the snapshot name is its id
		if hint == "" {
			v.snapSeq++
			hint = fmt.Sprintf("auto%d", v.snapSeq)
		}
		id := regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(hint, "_")
		if _, dup := v.snaps[id]; dup {
			return "", status.Errorf(codes.AlreadyExists, "snapshot %q already exists on VM %s", id, v.id)
		}
		return id, nil
	default:
		v.snapSeq++
		return fmt.Sprintf("snap-%d", v.snapSeq), nil
	}
}

func (s *Server) SnapshotCreate(_ context.Context, r *pb.SnapshotCreateRequest) (*pb.SnapshotCreateResponse, error) {
	if s.o.validateFirst {
		if err := s.checkVMID("vm_id", r.GetVmId()); err != nil {
			return nil, err
		}
	}
	if !s.o.snapshots {
		return nil, status.Error(codes.Unimplemented, "snapshots are not supported by this provider")
	}
	if err := s.checkVMID("vm_id", r.GetVmId()); err != nil {
		return nil, err
	}
	if r.GetIncludeMemory() && !s.o.memSnapshots {
		return nil, status.Error(codes.Unimplemented, "memory snapshots are not supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetVmId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "VM %s not found", r.GetVmId())
	}
	id, err := s.newSnapID(v, r.GetNameHint())
	if err != nil {
		return nil, err
	}
	sn := &snap{id: id, name: r.GetNameHint(), withMemory: r.GetIncludeMemory(), description: r.GetDescription(), takenAt: time.Now()}
	// reserve the id immediately so a duplicate is detected; contents are captured when the task runs
	v.snaps[id] = sn
	ref := s.schedule("snapcreate", v, func() {
		sn.cpu, sn.mem, sn.power = v.cpu, v.mem, v.power
	})
	return &pb.SnapshotCreateResponse{SnapshotId: id, Task: ref}, nil
}

func (s *Server) snapArgs(vmID, snapID string) error {
	if !s.o.snapshots {
		return status.Error(codes.Unimplemented, "snapshots are not supported by this provider")
	}
	if err := s.checkVMID("vm_id", vmID); err != nil {
		return err
	}
	if snapID == "" {
		return status.Error(codes.InvalidArgument, "snapshot_id is required")
	}
	return nil
}

func (s *Server) SnapshotDelete(_ context.Context, r *pb.SnapshotDeleteRequest) (*pb.TaskResponse, error) {
	if err := s.snapArgs(r.GetVmId(), r.GetSnapshotId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetVmId())
	if !ok {
		if s.o.snapDelUnkVM == "ok" {
			return &pb.TaskResponse{Task: s.syncRef()}, nil
		}
		return nil, status.Errorf(codes.NotFound, "VM %s not found", r.GetVmId())
	}
	sid := r.GetSnapshotId()
	if _, ok := v.snaps[sid]; !ok {
		return &pb.TaskResponse{Task: s.syncRef()}, nil // idempotent
	}
	return &pb.TaskResponse{Task: s.schedule("snapdelete", v, func() { delete(v.snaps, sid) })}, nil
}

func (s *Server) SnapshotRevert(_ context.Context, r *pb.SnapshotRevertRequest) (*pb.TaskResponse, error) {
	if err := s.snapArgs(r.GetVmId(), r.GetSnapshotId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(r.GetVmId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "VM %s not found", r.GetVmId())
	}
	sn, ok := v.snaps[r.GetSnapshotId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "snapshot %s not found on VM %s", r.GetSnapshotId(), v.id)
	}
	return &pb.TaskResponse{Task: s.schedule("snaprevert", v, func() {
		v.cpu, v.mem = sn.cpu, sn.mem
		switch {
		case s.o.revertPower == "vsphere" && sn.withMemory:
			v.power = sn.power
		case s.o.revertPower == "vsphere":
			v.power = "Off" // a disk-only snapshot reverts to a powered-off VM
		}
	})}, nil
}

func parseQuantityMiB(raw json.RawMessage) (int64, error) {
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		var n json.Number
		if err2 := json.Unmarshal(raw, &n); err2 != nil {
			return 0, fmt.Errorf("memory must be a quantity string")
		}
		str = n.String()
	}
	m := quantRe.FindStringSubmatch(strings.TrimSpace(str))
	if m == nil {
		return 0, fmt.Errorf("memory %q is not a quantity", str)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]float64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
		"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}[m[2]]
	mib := int64(math.Ceil(f * mult / (1 << 20)))
	if mib <= 0 {
		return 0, fmt.Errorf("memory %q must be positive", str)
	}
	return mib, nil
}

func (s *Server) Clone(_ context.Context, r *pb.CloneRequest) (*pb.CloneResponse, error) {
	if s.o.validateFirst {
		if err := s.checkVMID("source_vm_id", r.GetSourceVmId()); err != nil {
			return nil, err
		}
	}
	if s.o.clones == "none" {
		return nil, status.Error(codes.Unimplemented, "clone is not supported by this provider")
	}
	if err := s.checkVMID("source_vm_id", r.GetSourceVmId()); err != nil {
		return nil, err
	}
	if r.GetTargetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "target_name is required")
	}
	if s.o.nameRule == "dns" && !dnsRe.MatchString(r.GetTargetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "target_name %q must be an RFC 1123 DNS label", r.GetTargetName())
	}
	if r.GetLinked() && s.o.clones != "linked" && s.o.linkedStrict {
		return nil, status.Error(codes.Unimplemented, "linked clones are not supported (supports_linked_clones=false)")
	}
	var ovCPU int32
	var ovMem int64
	if strings.TrimSpace(r.GetClassJson()) != "" {
		var c struct {
			CPU    json.RawMessage `json:"cpu"`
			Memory json.RawMessage `json:"memory"`
		}
		if err := json.Unmarshal([]byte(r.GetClassJson()), &c); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "class_json: %v", err)
		}
		if len(c.CPU) > 0 {
			var n int32
			if err := json.Unmarshal(c.CPU, &n); err != nil {
				var str string
				if err2 := json.Unmarshal(c.CPU, &str); err2 != nil {
					return nil, status.Errorf(codes.InvalidArgument, "class_json.cpu: %v", err)
				}
				n64, err3 := strconv.ParseInt(str, 10, 32)
				if err3 != nil {
					return nil, status.Errorf(codes.InvalidArgument, "class_json.cpu: %v", err3)
				}
				n = int32(n64)
			}
			if n <= 0 {
				return nil, status.Error(codes.InvalidArgument, "class_json.cpu must be positive")
			}
			ovCPU = n
		}
		if len(c.Memory) > 0 {
			mib, err := parseQuantityMiB(c.Memory)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "class_json.memory: %v", err)
			}
			ovMem = mib
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.lookup(r.GetSourceVmId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "source VM %s not found", r.GetSourceVmId())
	}
	if tid, taken := s.byName[r.GetTargetName()]; taken {
		if t := s.vms[tid]; s.o.cloneIdem && t.cloneOf == src.id {
			if t.pending {
				return &pb.CloneResponse{TargetVmId: tid, Task: s.schedule("clone", t, func() {})}, nil
			}
			return &pb.CloneResponse{TargetVmId: tid, Task: s.syncRef()}, nil
		}
		return nil, status.Errorf(codes.AlreadyExists, "a VM named %q already exists", r.GetTargetName())
	}
	id := s.newVMID(r.GetTargetName())
	s.ipSeq++
	c := &vm{id: id, name: r.GetTargetName(), power: "Off", snaps: map[string]*snap{}, pending: true,
		ipOctet: s.ipSeq, createdAt: time.Now(), diskGiB: src.diskGiB, cloneOf: src.id}
	if r.GetLinked() && s.o.clones == "linked" {
		c.linkedOf = src.id
		src.clones++
	}
	s.vms[id] = c
	s.byName[c.name] = id
	// CPU/memory are copied from the source as it is when the clone task runs (after any queued
	// task on the source); serialise behind the source's queue.
	if src.nextReady.After(c.nextReady) {
		c.nextReady = src.nextReady
	}
	ref := s.schedule("clone", c, func() {
		c.cpu, c.mem = src.cpu, src.mem
		if ovCPU > 0 {
			c.cpu = ovCPU
		}
		if ovMem > 0 {
			c.mem = ovMem
		}
		c.pending = false
	})
	return &pb.CloneResponse{TargetVmId: id, Task: ref}, nil
}

func (s *Server) ListVMs(context.Context, *pb.ListVMsRequest) (*pb.ListVMsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &pb.ListVMsResponse{}
	for _, v := range s.vms {
		if v.pending && s.o.createVisible == "ondone" {
			continue
		}
		var nets []*pb.NetworkInfo
		ips := s.ipOf(v)
		ip := ""
		if len(ips) > 0 {
			ip = ips[0]
		}
		nets = append(nets, &pb.NetworkInfo{Name: "vmbr0", Mac: fmt.Sprintf("52:54:00:00:%02x:%02x", v.ipOctet/256, v.ipOctet%256), IpAddress: ip})
		out.Vms = append(out.Vms, &pb.VMInfo{
			Id: v.id, Name: v.name, PowerState: v.power, Ips: ips, Cpu: v.cpu, MemoryMib: v.mem,
			Disks:       []*pb.DiskInfo{{Id: "scsi0", Path: "local-lvm:vm-" + v.id + "-disk-0", SizeGib: v.diskGiB, Format: "raw"}},
			Networks:    nets,
			ProviderRaw: map[string]string{"node": "pve1", "snapshots": strconv.Itoa(len(v.snaps)), "preexisting": strconv.FormatBool(v.preexist)},
		})
	}
	sort.Slice(out.Vms, func(i, j int) bool { return out.Vms[i].Name < out.Vms[j].Name })
	return out, nil
}

// New builds a provider from command-line style flags, e.g. "-async all -id pve"; see the
// flag descriptions below for every choice and its default.
func New(args []string) (*Server, error) {
	var o options
	var async string
	var weird bool
	fs := flag.NewFlagSet("thirdprovider", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.idFmt, "id", "prefix", "VM id format: uuid | prefix (vm-<uuid>) | pve (lowest free number >=100, reused) | seq | name")
	fs.BoolVar(&o.strictIDs, "strict-ids", false, "malformed VM ids => InvalidArgument")
	fs.StringVar(&o.taskFmt, "task-id", "uuid", "task id format: uuid (task-<uuid>) | upid")
	fs.BoolVar(&o.strictTaskIDs, "strict-task-ids", false, "malformed task ids => InvalidArgument")
	fs.StringVar(&async, "async", "none", "comma list of RPCs answered with an async task: all, none, create, delete, power, reconfigure, snapcreate, snapdelete, snaprevert, clone")
	fs.DurationVar(&o.minDelay, "min-delay", 50*time.Millisecond, "async task minimum duration")
	fs.DurationVar(&o.maxDelay, "max-delay", 300*time.Millisecond, "async task maximum duration")
	fs.StringVar(&o.emptyTask, "sync-ref", "nil", "synchronous completion signalled as: nil TaskRef | empty (TaskRef with empty id)")
	fs.BoolVar(&o.powerOnCreate, "power-on-create", false, "new VMs start powered On")
	fs.StringVar(&o.createVisible, "create-visible", "immediate", "immediate | ondone: when an async-created VM becomes visible")
	fs.StringVar(&o.emptyClass, "empty-class", "reject", "empty class_json: reject | default (1 CPU, 1024 MiB)")
	fs.IntVar(&o.preexisting, "preexisting", 0, "number of VMs in the inventory before any client call")
	fs.BoolVar(&o.snapshots, "snapshots", true, "advertise and implement snapshots")
	fs.BoolVar(&o.memSnapshots, "mem-snapshots", true, "support include_memory")
	fs.StringVar(&o.snapIDFmt, "snap-id", "seq", "snapshot id format: seq (snap-N per VM) | uuid | name (the name hint, Proxmox style)")
	fs.StringVar(&o.revertPower, "revert-power", "vsphere", "power after revert: keep | vsphere (disk-only snapshot reverts to Off)")
	fs.StringVar(&o.clones, "clones", "full", "clones: none (Unimplemented) | full | linked (advertise linked clones)")
	fs.BoolVar(&o.linkedStrict, "linked-strict", false, "linked=true without linked-clone support => Unimplemented")
	fs.BoolVar(&o.reconfOffline, "reconf-offline", false, "reconfigure of a powered-on VM => FailedPrecondition")
	fs.StringVar(&o.nameRule, "names", "any", "name rule: any | dns")
	fs.StringVar(&o.snapDelUnkVM, "snapdel-unknown-vm", "notfound", "SnapshotDelete on unknown VM: notfound | ok")
	fs.BoolVar(&o.cloneIdem, "clone-idem", true, "a repeated clone of the same source to the same name returns that clone (else AlreadyExists)")
	fs.BoolVar(&o.validateFirst, "validate-first", false, "validate arguments before answering Unimplemented for an unoffered capability")
	fs.DurationVar(&o.taskTTL, "task-ttl", 0, "forget completed tasks after this long (0 = never)")
	fs.StringVar(&o.reconfMode, "reconf-mode", "reject", "with -reconf-offline: reject | poweroff")
	fs.BoolVar(&o.desiredWhole, "desired-whole", false, "treat desired_json as the whole spec: a desired state without disks is rejected")
	fs.BoolVar(&o.noTaskStatus, "no-taskstatus", false, "TaskStatus answers Unimplemented (use with -async none)")
	fs.BoolVar(&weird, "preexisting-weird", false, "pre-existing inventory with a Suspended VM, an unnamed 0-CPU VM and two VMs with the same name")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.asyncRPCs = map[string]bool{}
	for _, a := range strings.Split(async, ",") {
		if a = strings.TrimSpace(a); a != "" && a != "none" {
			o.asyncRPCs[a] = true
		}
	}
	s := &Server{o: o, vms: map[string]*vm{}, byName: map[string]string{}, tasks: map[string]*task{}}
	for i := range o.preexisting {
		id := s.newVMID(fmt.Sprintf("legacy-app-%02d", i+1))
		s.ipSeq++
		v := &vm{id: id, name: fmt.Sprintf("legacy-app-%02d", i+1), cpu: int32(2 + i%3), mem: int64(2048 * (1 + i%2)),
			diskGiB: 40, power: []string{"On", "Off"}[i%2], snaps: map[string]*snap{}, preexist: true, ipOctet: s.ipSeq}
		s.vms[id] = v
		s.byName[v.name] = id
	}
	if weird {
		for i, w := range []struct {
			name  string
			power string
			cpu   int32
			mem   int64
		}{{"suspended-vm", "Suspended", 2, 2048}, {"", "Unknown", 0, 0}, {"dup-name", "On", 1, 1024}, {"dup-name", "Off", 1, 1024}} {
			id := s.newVMID(fmt.Sprintf("weird-%d", i))
			s.ipSeq++
			s.vms[id] = &vm{id: id, name: w.name, cpu: w.cpu, mem: w.mem, power: w.power, snaps: map[string]*snap{}, preexist: true, ipOctet: s.ipSeq}
		}
	}
	return s, nil
}

// Inventory counts the VMs the provider holds, and lists the pre-existing ones a client
// deleted.
func (s *Server) Inventory() (vms int, deletedPreexisting []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vms), append([]string(nil), s.touchedInventory...)
}

// Register serves the provider on gs.
func (s *Server) Register(gs *grpc.Server) { pb.RegisterProviderServer(gs, s) }
