package driver

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/internal/grpctest"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// listen serves the given registrations on a loopback port and returns a client connection.
func listen(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer()
	register(srv)
	return grpctest.Dial(t, grpctest.Serve(t, srv))
}

// fakeWire records what it receives and answers TaskStatus from a script.
type fakeWire struct {
	providerv1.UnimplementedProviderServer
	mu          sync.Mutex
	create      *providerv1.CreateRequest
	reconfigure *providerv1.ReconfigureRequest
	clone       *providerv1.CloneRequest
	task        *providerv1.TaskRef // what Power answers
	statuses    []statusAnswer      // TaskStatus answers in order; the last repeats
	polls       int
	cloneErr    error
	describeRaw string
	caps        *providerv1.GetCapabilitiesResponse // nil: snapshots only
}

type statusAnswer struct {
	resp *providerv1.TaskStatusResponse
	err  error
}

func (f *fakeWire) Create(_ context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.create = req
	return &providerv1.CreateResponse{Id: "vm-1"}, nil
}

func (f *fakeWire) Reconfigure(_ context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reconfigure = req
	return &providerv1.TaskResponse{}, nil
}

func (f *fakeWire) Clone(_ context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cloneErr != nil {
		return nil, f.cloneErr
	}
	f.clone = req
	return &providerv1.CloneResponse{TargetVmId: "vm-2"}, nil
}

func (f *fakeWire) Power(context.Context, *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	return &providerv1.TaskResponse{Task: f.task}, nil
}

func (f *fakeWire) TaskStatus(context.Context, *providerv1.TaskStatusRequest) (*providerv1.TaskStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.statuses[min(f.polls, len(f.statuses)-1)]
	f.polls++
	return a.resp, a.err
}

func (f *fakeWire) Describe(_ context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	return &providerv1.DescribeResponse{Exists: true, PowerState: "On", ProviderRawJson: f.describeRaw}, nil
}

func (f *fakeWire) GetCapabilities(context.Context, *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	if f.caps != nil {
		return f.caps, nil
	}
	return &providerv1.GetCapabilitiesResponse{SupportsSnapshots: true}, nil
}

func newFakeWire(t *testing.T, f *fakeWire) Driver {
	return NewWire(listen(t, func(s *grpc.Server) { providerv1.RegisterProviderServer(s, f) }))
}

func TestWireSendsTheProducerShapes(t *testing.T) {
	f := &fakeWire{}
	d := newFakeWire(t, f)
	ctx := context.Background()
	if _, err := d.Create(ctx, "web", Spec{CPU: 2, MemoryMiB: 2048, Image: "ubuntu-22.04", DiskGiB: 20}); err != nil {
		t.Fatal(err)
	}
	if err := d.Reconfigure(ctx, "vm-1", "web", Spec{CPU: 4, MemoryMiB: 8192, Image: "ubuntu-22.04", DiskGiB: 20}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"class_json", f.create.GetClassJson(), `{"CPU":2,"MemoryMiB":2048}`},
		{"image_json", f.create.GetImageJson(), `{"TemplateName":"ubuntu-22.04","URL":""}`},
		{"disks_json", f.create.GetDisksJson(), `[{"SizeGiB":20}]`},
		{"desired_json", f.reconfigure.GetDesiredJson(), `{"Name":"web","Class":{"CPU":4,"MemoryMiB":8192},"Image":{"TemplateName":"ubuntu-22.04","URL":""},"Disks":[{"SizeGiB":20}]}`},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		mem  int64
		want string
	}{
		{8192, `{"cpu":4,"memory":"8Gi"}`},
		{1536, `{"cpu":4,"memory":"1536Mi"}`},
	} {
		if _, err := d.Clone(ctx, "vm-1", "copy", &Spec{CPU: 4, MemoryMiB: tc.mem}); err != nil {
			t.Fatal(err)
		}
		if got := f.clone.GetClassJson(); got != tc.want {
			t.Errorf("clone class_json = %s, want %s", got, tc.want)
		}
	}
	if _, err := d.Clone(ctx, "vm-1", "copy", nil); err != nil {
		t.Fatal(err)
	}
	if got := f.clone.GetClassJson(); got != "" {
		t.Errorf("clone without override sent class_json %s", got)
	}
	// An explicit image payload from the configuration replaces the derived one.
	if _, err := d.Create(ctx, "web", Spec{CPU: 1, MemoryMiB: 512, ImageJSON: `{"TemplateName":"t","URL":"http://x"}`}); err != nil {
		t.Fatal(err)
	}
	if got := f.create.GetImageJson(); got != `{"TemplateName":"t","URL":"http://x"}` {
		t.Errorf("image_json = %s", got)
	}
	if f.create.GetDisksJson() != "" {
		t.Errorf("disks_json sent without a disk size: %s", f.create.GetDisksJson())
	}
	// The desired state carries the configured payloads too; no disk is null, as Go encodes a nil
	// list, and text that is not JSON travels as a string instead of breaking the payload.
	spec := Spec{CPU: 1, MemoryMiB: 512, ImageJSON: `{"TemplateName":"t"}`, NetworksJSON: `[{"Name":"n"}]`, PlacementJSON: `not json`}
	want := `{"Name":"web","Class":{"CPU":1,"MemoryMiB":512},"Image":{"TemplateName":"t"},"Networks":[{"Name":"n"}],"Disks":null,"Placement":"not json"}`
	if got := d.(RawPayloads).DesiredJSON("web", spec); got != want {
		t.Errorf("desired_json = %s, want %s", got, want)
	}
}

func TestWireWaitsForTasksAsTheManagerDoes(t *testing.T) {
	notDone := statusAnswer{resp: &providerv1.TaskStatusResponse{}}
	done := statusAnswer{resp: &providerv1.TaskStatusResponse{Done: true}}
	cases := []struct {
		name      string
		task      *providerv1.TaskRef
		statuses  []statusAnswer
		taskLimit time.Duration
		wantErr   string // "" for success; "timeout" for a TaskError that timed out; "task" for a failed task
		wantPolls int
	}{
		{name: "no task reference is synchronous", task: nil, statuses: []statusAnswer{notDone}, wantPolls: 0},
		{name: "an empty task id is synchronous", task: &providerv1.TaskRef{}, statuses: []statusAnswer{notDone}, wantPolls: 0},
		{name: "polls until done", task: &providerv1.TaskRef{Id: "t"}, statuses: []statusAnswer{notDone, notDone, done}, wantPolls: 3},
		{name: "an error while not done is a failure", task: &providerv1.TaskRef{Id: "t"},
			statuses: []statusAnswer{notDone, {resp: &providerv1.TaskStatusResponse{Error: "disk full"}}}, wantErr: "task", wantPolls: 2},
		{name: "an error with done is a failure", task: &providerv1.TaskRef{Id: "t"},
			statuses: []statusAnswer{{resp: &providerv1.TaskStatusResponse{Done: true, Error: "boom"}}}, wantErr: "task", wantPolls: 1},
		{name: "a TaskStatus error is a task failure, not the call's code", task: &providerv1.TaskRef{Id: "t"},
			statuses: []statusAnswer{{err: status.Error(codes.NotFound, "no such task")}}, wantErr: "task", wantPolls: 1},
		{name: "a task that never finishes times out", task: &providerv1.TaskRef{Id: "t"},
			statuses: []statusAnswer{notDone}, taskLimit: 60 * time.Millisecond, wantErr: "timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeWire{task: tc.task, statuses: tc.statuses}
			d := newFakeWire(t, f)
			log := &TaskLog{}
			ctx := WithTaskLog(WithTimeouts(context.Background(), Timeouts{Call: time.Second, Task: tc.taskLimit}), log)
			err := d.Power(ctx, "vm-1", PowerOn)
			var te *TaskError
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("Power: %v", err)
				}
			case "timeout":
				if !errors.As(err, &te) || !te.TimedOut {
					t.Fatalf("Power: got %v, want a timed-out TaskError", err)
				}
			case "task":
				if !errors.As(err, &te) || te.TimedOut {
					t.Fatalf("Power: got %v, want a failed TaskError", err)
				}
				if status.Code(err) == codes.NotFound {
					t.Fatalf("a task failure must not carry the operation's NotFound: %v", err)
				}
			}
			if tc.wantPolls > 0 && f.polls != tc.wantPolls {
				t.Errorf("polled %d times, want %d", f.polls, tc.wantPolls)
			}
			if tc.wantErr == "" && tc.task.GetId() == "" && f.polls != 0 {
				t.Errorf("polled a synchronous call %d times", f.polls)
			}
			recs := log.Records()
			if len(recs) != 1 || recs[0].Call != `Power(id="vm-1", op=ON)` {
				t.Fatalf("task log %+v, want one record of the Power call", recs)
			}
			if done := recs[0].Done && recs[0].Error == ""; done != (tc.wantErr == "") {
				t.Errorf("task log says done=%t error=%q for outcome %q", recs[0].Done, recs[0].Error, tc.wantErr)
			}
		})
	}
}

func TestWireProbesCloneCapability(t *testing.T) {
	for _, tc := range []struct {
		probe   error
		clones  bool
		wantErr bool
	}{
		{status.Error(codes.Unimplemented, "no clones"), false, false},
		{status.Error(codes.InvalidArgument, "source id required"), true, false},
		{nil, true, false},
		{status.Error(codes.Unavailable, "down"), false, true},
	} {
		f := &fakeWire{cloneErr: tc.probe}
		c, err := newFakeWire(t, f).Capabilities(context.Background())
		if (err != nil) != tc.wantErr {
			t.Fatalf("probe answer %v: error %v", tc.probe, err)
		}
		if err == nil && (c.Clones != tc.clones || !c.Snapshots || c.Raw == "") {
			t.Errorf("probe answer %v: capabilities %+v, want clones=%t", tc.probe, c, tc.clones)
		}
	}
}

// validatingCloner checks its arguments before it says that it offers no clones: only a
// numeric source id and a target name get as far as Unimplemented.
type validatingCloner struct {
	fakeWire
	offers bool
}

func (v *validatingCloner) Clone(_ context.Context, req *providerv1.CloneRequest) (*providerv1.CloneResponse, error) {
	if _, err := strconv.Atoi(req.GetSourceVmId()); err != nil || req.GetTargetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "source_vm_id must be a number and target_name is required")
	}
	if !v.offers {
		return nil, status.Error(codes.Unimplemented, "clones are not offered")
	}
	return nil, status.Error(codes.NotFound, "no such VM")
}

func TestWireCloneProbeLooksPastArgumentChecks(t *testing.T) {
	for _, offers := range []bool{false, true} {
		v := &validatingCloner{offers: offers}
		d := NewWire(listen(t, func(s *grpc.Server) { providerv1.RegisterProviderServer(s, v) }))
		c, err := d.Capabilities(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.Clones != offers {
			t.Errorf("offers=%t: probe concluded clones=%t (%s)", offers, c.Clones, c.Raw)
		}
		if !strings.Contains(c.Raw, `Clone(source_vm_id="999999999")`) {
			t.Errorf("the reason does not show the probe that decided: %s", c.Raw)
		}
	}
}

func TestWireReadsOnlineReconfigure(t *testing.T) {
	for _, online := range []bool{false, true} {
		f := &fakeWire{caps: &providerv1.GetCapabilitiesResponse{SupportsReconfigureOnline: online}}
		c, err := newFakeWire(t, f).Capabilities(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.ReconfigureOnline != online || c.Snapshots {
			t.Errorf("supports_reconfigure_online=%t: capabilities %+v", online, c)
		}
	}
}

func TestWireReadsHardwareFromDescribe(t *testing.T) {
	f := &fakeWire{describeRaw: `{"name":"web","cpu":3,"memoryMiB":3072}`}
	d, err := newFakeWire(t, f).Describe(context.Background(), "vm-1")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Exists || !d.HasHardware || d.CPU != 3 || d.MemoryMiB != 3072 || d.Name != "web" || d.Power != StateOn {
		t.Fatalf("Describe = %+v", d)
	}
}

func TestHardwareFromRawJSON(t *testing.T) {
	for _, tc := range []struct {
		raw string
		hw  Hardware
		ok  bool
	}{
		{`{"cpu":2,"memoryMiB":2048}`, Hardware{2, 2048}, true},
		{`{"CPU":2,"MemoryMiB":2048}`, Hardware{2, 2048}, true},
		{`{"numCPUs":4,"memory_mib":1024}`, Hardware{4, 1024}, true},
		{`{"spec":{"vcpus":8,"memMiB":4096}}`, Hardware{8, 4096}, true},
		{`{"Class":{"CPU":1,"MemoryMiB":512}}`, Hardware{1, 512}, true},
		{`{"cpu":2}`, Hardware{}, false},
		{`{"cpu":2,"memory":"2Gi"}`, Hardware{}, false},
		{`{"cpu":2.5,"memoryMiB":2048}`, Hardware{}, false},
		{`{"cpu":"2","memoryMiB":2048}`, Hardware{}, false},
		{`not json`, Hardware{}, false},
		{``, Hardware{}, false},
		{`[1,2]`, Hardware{}, false},
		// Proxmox-like: "cpu" is the load; the count is in "cpus" or "maxcpu".
		{`{"cpu":0,"cpus":2,"memory_mib":2048}`, Hardware{2, 2048}, true},
		{`{"cpu":1,"maxcpu":4,"memmib":4096}`, Hardware{4, 4096}, true},
		{`{"cpu":0,"cores":3,"memory_mib":3072}`, Hardware{3, 3072}, true},
		{`{"cpu":0,"cores":2,"sockets":2,"memory_mib":4096}`, Hardware{4, 4096}, true},
	} {
		hw, ok := HardwareFromRawJSON(tc.raw)
		if ok != tc.ok || hw != tc.hw {
			t.Errorf("HardwareFromRawJSON(%s) = %+v, %t; want %+v, %t", tc.raw, hw, ok, tc.hw, tc.ok)
		}
	}
}

func TestNewChoosesTheDialect(t *testing.T) {
	conn := listen(t, func(*grpc.Server) {})
	for _, tc := range []struct{ name, want string }{{"", DialectWire}, {"v1", DialectWire}, {"tutorial", DialectTutorial}} {
		d, err := New(tc.name, conn)
		if err != nil || d.Dialect() != tc.want {
			t.Errorf("New(%q) = %v, %v; want dialect %s", tc.name, d, err, tc.want)
		}
	}
	if _, err := New("v2", conn); err == nil {
		t.Error("New(v2) accepted an unknown dialect")
	}
	if _, err := New("v1", nil); err == nil {
		t.Error("New without a connection succeeded")
	}
}

// fakeTutorial reports Creating/Rebooting for a few reads before settling.
type fakeTutorial struct {
	tutorialv1.UnimplementedProviderServiceServer
	mu        sync.Mutex
	reads     int
	settleAt  int
	final     string
	deleteOK  bool
	transient string
	caps      []*tutorialv1.Capability
}

func (f *fakeTutorial) GetCapabilities(context.Context, *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	return &tutorialv1.GetCapabilitiesResponse{ProviderId: "fake", Capabilities: f.caps}, nil
}

func (f *fakeTutorial) CreateVM(context.Context, *tutorialv1.CreateVMRequest) (*tutorialv1.CreateVMResponse, error) {
	return &tutorialv1.CreateVMResponse{VmId: "vm-1", Status: &tutorialv1.VMStatus{State: f.transient}}, nil
}

func (f *fakeTutorial) PowerVM(context.Context, *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	return &tutorialv1.PowerVMResponse{Status: &tutorialv1.VMStatus{State: f.transient}}, nil
}

func (f *fakeTutorial) GetVM(context.Context, *tutorialv1.GetVMRequest) (*tutorialv1.GetVMResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	state := f.transient
	if f.reads >= f.settleAt {
		state = f.final
	}
	return &tutorialv1.GetVMResponse{VmId: "vm-1", Name: "web", Spec: &tutorialv1.VMSpec{Cpu: 2, Memory: 2048}, Status: &tutorialv1.VMStatus{State: state}}, nil
}

func (f *fakeTutorial) DeleteVM(context.Context, *tutorialv1.DeleteVMRequest) (*tutorialv1.DeleteVMResponse, error) {
	return &tutorialv1.DeleteVMResponse{Success: f.deleteOK, Message: "locked"}, nil
}

func TestTutorialWaitsForTransitionalStates(t *testing.T) {
	f := &fakeTutorial{transient: "Creating", settleAt: 3, final: "Running"}
	d := NewTutorial(listen(t, func(s *grpc.Server) { tutorialv1.RegisterProviderServiceServer(s, f) }))
	log := &TaskLog{}
	ctx := WithTaskLog(context.Background(), log)
	if _, err := d.Create(ctx, "web", Spec{CPU: 2, MemoryMiB: 2048}); err != nil {
		t.Fatal(err)
	}
	if f.reads != 3 {
		t.Errorf("Create read the VM %d times, want 3 (until it left Creating)", f.reads)
	}
	desc, err := d.Describe(ctx, "vm-1")
	if err != nil || desc.Power != StateOn || !desc.HasHardware || desc.CPU != 2 {
		t.Fatalf("Describe = %+v, %v; want On with hardware", desc, err)
	}
	if recs := log.Records(); len(recs) != 1 || !recs[0].Done {
		t.Errorf("task log %+v, want one finished wait", recs)
	}

	stuck := &fakeTutorial{transient: "Rebooting", settleAt: 1 << 30}
	d = NewTutorial(listen(t, func(s *grpc.Server) { tutorialv1.RegisterProviderServiceServer(s, stuck) }))
	ctx = WithTimeouts(context.Background(), Timeouts{Call: time.Second, Task: 50 * time.Millisecond})
	var te *TaskError
	if err := d.Power(ctx, "vm-1", PowerReboot); !errors.As(err, &te) || !te.TimedOut {
		t.Fatalf("Power on a VM stuck in Rebooting: %v, want a timed-out TaskError", err)
	}
	if desc, _ := d.Describe(context.Background(), "vm-1"); desc.Power != "Rebooting" {
		t.Errorf("transitional state reported as %q, want it unchanged", desc.Power)
	}
	if err := d.Delete(context.Background(), "vm-1"); !errors.As(err, &te) {
		t.Errorf("DeleteVM success=false answered %v, want a failure", err)
	}
}

// The tutorial API has no online-reconfigure flag: ReconfigureOnline is never reported.
// The core capabilities are read by name; one listed twice counts as offered only if every
// entry says so.
func TestTutorialReadsCapabilities(t *testing.T) {
	for _, tc := range []struct {
		caps              []*tutorialv1.Capability
		snapshots, clones bool
		core              map[string]bool
	}{
		{nil, false, false, map[string]bool{}},
		{[]*tutorialv1.Capability{{Name: "vm.update", Supported: true}}, false, false, map[string]bool{"vm.update": true}},
		{[]*tutorialv1.Capability{{Name: "vm.update", Supported: false}, {Name: "vm.snapshot", Supported: true}}, true, false,
			map[string]bool{"vm.update": false}},
		{[]*tutorialv1.Capability{{Name: "vm.clone", Supported: true}, {Name: "vm.power", Supported: true}, {Name: "vm.power", Supported: false}},
			false, true, map[string]bool{"vm.power": false}},
		{[]*tutorialv1.Capability{{Name: "vm.read", Supported: true}, {Name: "vm.read", Supported: true}}, false, false,
			map[string]bool{"vm.read": true}},
	} {
		f := &fakeTutorial{caps: tc.caps}
		c, err := NewTutorial(listen(t, func(s *grpc.Server) { tutorialv1.RegisterProviderServiceServer(s, f) })).Capabilities(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.Snapshots != tc.snapshots || c.Clones != tc.clones || c.ReconfigureOnline || !maps.Equal(c.Core, tc.core) || c.Raw == "" {
			t.Errorf("capabilities %v: got %+v, want snapshots=%t clones=%t online=false core=%v", tc.caps, c, tc.snapshots, tc.clones, tc.core)
		}
	}
}

func TestTutorialReportsWhatItCannotExpress(t *testing.T) {
	d := NewTutorial(listen(t, func(*grpc.Server) {}))
	for _, f := range Features() {
		ok, why := d.Supports(f)
		if ok || why == "" {
			t.Errorf("tutorial Supports(%s) = %t, %q; want unsupported with a reason", f, ok, why)
		}
	}
	if _, err := d.Clone(context.Background(), "a", "b", &Spec{CPU: 1}); !errors.Is(err, ErrNotExpressible) {
		t.Errorf("Clone with override: %v, want ErrNotExpressible", err)
	}
	if err := d.SnapshotRevert(context.Background(), "a", "s"); !errors.Is(err, ErrNotExpressible) {
		t.Errorf("SnapshotRevert: %v, want ErrNotExpressible", err)
	}
	w := NewWire(listen(t, func(*grpc.Server) {}))
	for _, f := range Features() {
		if ok, _ := w.Supports(f); !ok {
			t.Errorf("v1 cannot express %s", f)
		}
	}
	if _, ok := w.(RawPayloads); !ok {
		t.Error("v1 driver lacks RawPayloads")
	}
	if _, ok := w.(Tasks); !ok {
		t.Error("v1 driver lacks Tasks")
	}
}
