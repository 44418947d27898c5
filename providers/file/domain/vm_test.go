package domain

import (
	"math"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func validSpec() Spec {
	return Spec{CPU: 2, MemoryMiB: 2048, Image: Image{TemplateName: "ubuntu-22.04"}, Disks: []Disk{{SizeGiB: 20}}}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Spec)
		ok     bool
	}{
		{"valid", func(*Spec) {}, true},
		{"max values", func(s *Spec) { s.CPU, s.MemoryMiB = MaxCPU, MaxMemoryMiB }, true},
		{"no disks", func(s *Spec) { s.Disks = nil }, true},
		{"zero cpu", func(s *Spec) { s.CPU = 0 }, false},
		{"negative cpu", func(s *Spec) { s.CPU = -1 }, false},
		{"absurd cpu", func(s *Spec) { s.CPU = math.MaxInt32 }, false},
		{"zero memory", func(s *Spec) { s.MemoryMiB = 0 }, false},
		{"absurd memory", func(s *Spec) { s.MemoryMiB = math.MaxInt64 }, false},
		{"zero disk", func(s *Spec) { s.Disks = []Disk{{0}} }, false},
		{"huge disk", func(s *Spec) { s.Disks = []Disk{{MaxDiskGiB + 1}} }, false},
		{"too many disks", func(s *Spec) { s.Disks = make([]Disk, MaxDisks+1) }, false},
		{"control char in image", func(s *Spec) { s.Image.TemplateName = "a\x00" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(&s)
			err := s.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && KindOf(err) != KindInvalidArgument {
				t.Fatalf("kind = %v", KindOf(err))
			}
		})
	}
}

func TestPowerStateMachine(t *testing.T) {
	const delay = 10 * time.Second
	mid := t0.Add(delay / 2)
	tests := []struct {
		name      string
		start     func() VM
		op        PowerOp
		at        time.Time
		delay     time.Duration
		wantNow   State // right after the op
		wantLater State // once any transition has ended
	}{
		{"on from running", running, OpOn, t0, delay, StateRunning, StateRunning},
		{"on from stopped", stopped, OpOn, t0, delay, StateRunning, StateRunning},
		{"off from running", running, OpOff, t0, delay, StateStopped, StateStopped},
		{"off from stopped", stopped, OpOff, t0, delay, StateStopped, StateStopped},
		{"graceful from running", running, OpShutdownGraceful, t0, delay, StateStopped, StateStopped},
		{"reboot from running", running, OpReboot, t0, delay, StateRebooting, StateRunning},
		{"reboot from stopped starts it", stopped, OpReboot, t0, delay, StateRebooting, StateRunning},
		{"reboot without delay", running, OpReboot, t0, 0, StateRunning, StateRunning},
		{"on while creating keeps creating", creating, OpOn, mid, delay, StateCreating, StateRunning},
		{"off while creating stops", creating, OpOff, mid, delay, StateStopped, StateStopped},
		{"off while rebooting stops", rebooting, OpOff, mid, delay, StateStopped, StateStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := tt.start()
			if err := vm.ApplyPower(tt.op, tt.at, tt.delay); err != nil {
				t.Fatal(err)
			}
			if got := vm.StateAt(tt.at); got != tt.wantNow {
				t.Errorf("state after op = %s, want %s", got, tt.wantNow)
			}
			later := tt.at.Add(2 * delay)
			if got := vm.StateAt(later); got != tt.wantLater {
				t.Errorf("state later = %s, want %s", got, tt.wantLater)
			}
			if !vm.BusyUntil(later).IsZero() {
				t.Errorf("still busy after the transition")
			}
			if err := vm.Validate(); err != nil {
				t.Errorf("invalid after op: %v", err)
			}
		})
	}
}

func TestRepeatedPowerChangesNothing(t *testing.T) {
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		start func() VM
		op    PowerOp
	}{
		{"on when running", running, OpOn},
		{"off when stopped", stopped, OpOff},
		{"graceful when stopped", stopped, OpShutdownGraceful},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vm := tc.start()
			before := vm.Clone()
			if err := vm.ApplyPower(tc.op, later, 0); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, vm) {
				t.Errorf("a power operation that changes no state changed the record:\nbefore %+v\nafter  %+v", before, vm)
			}
		})
	}
}

func TestApplyPowerRejectsUnknownOp(t *testing.T) {
	vm := running()
	before := vm.Clone()
	for _, op := range []PowerOp{0, 5, -1} {
		if err := vm.ApplyPower(op, t0, 0); KindOf(err) != KindInvalidArgument {
			t.Fatalf("op %d: err = %v, want invalid argument", op, err)
		}
	}
	if vm.Power != before.Power || vm.Transition != nil {
		t.Fatal("a refused op changed the VM")
	}
}

func TestCreatingTransition(t *testing.T) {
	vm := NewVM(NewID(), "vm", validSpec(), t0, 3*time.Second)
	if got := vm.StateAt(t0); got != StateCreating {
		t.Fatalf("state = %s, want Creating", got)
	}
	if got := vm.BusyUntil(t0); !got.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("busy until %v", got)
	}
	end := t0.Add(3 * time.Second)
	if got := vm.StateAt(end); got != StateRunning {
		t.Fatalf("state at the deadline = %s, want Running", got)
	}
	vm.Settle(end.Add(-time.Nanosecond))
	if vm.Transition == nil {
		t.Fatal("Settle dropped a transition before its end")
	}
	vm.Settle(end)
	if vm.Transition != nil {
		t.Fatal("Settle kept an ended transition")
	}
	if got := NewVM(NewID(), "vm", validSpec(), t0, 0).StateAt(t0); got != StateRunning {
		t.Fatalf("without delay the state is %s, want Running", got)
	}
}

func TestCloneIsDeep(t *testing.T) {
	vm := creating()
	vm.Tags = []string{"a"}
	c := vm.Clone()
	c.Spec.Disks[0].SizeGiB = 99
	c.Tags[0] = "b"
	c.Transition.Kind = TransitionRebooting
	if vm.Spec.Disks[0].SizeGiB == 99 || vm.Tags[0] == "b" || vm.Transition.Kind == TransitionRebooting {
		t.Fatal("Clone shares memory with the original")
	}
}

func TestCloneAs(t *testing.T) {
	src := running()
	spec := src.Spec.Clone()
	spec.CPU = 8
	c := src.CloneAs(NewID(), "copy", spec, t0, time.Second)
	if c.ID == src.ID || c.Name != "copy" || c.CloneOf != src.ID || c.Spec.CPU != 8 || c.StateAt(t0) != StateCreating {
		t.Fatalf("unexpected clone %+v", c)
	}
	c.Spec.Disks[0].SizeGiB = 1
	if src.Spec.Disks[0].SizeGiB == 1 {
		t.Fatal("clone shares disks with its source")
	}
}

func TestSnapshotRecordsAndReverts(t *testing.T) {
	vm := running()
	snap := NewSnapshot(NewID(), vm, "before", "", t0)
	if err := snap.Validate(); err != nil {
		t.Fatal(err)
	}
	vm.Spec.CPU, vm.Spec.MemoryMiB = 16, 65536
	_ = vm.ApplyPower(OpOff, t0, 0)
	vm.RevertTo(snap, t0.Add(time.Minute))
	if !vm.Spec.Equal(validSpec()) || vm.StateAt(t0.Add(time.Minute)) != StateRunning {
		t.Fatalf("revert restored %+v, %s", vm.Spec, vm.StateAt(t0))
	}
	// A VM still being created is recorded as what it becomes: powered on.
	if s := NewSnapshot(NewID(), creating(), "", "", t0); s.Power != PowerOn {
		t.Fatalf("snapshot of a creating VM records %s", s.Power)
	}
}

func TestVMValidate(t *testing.T) {
	good := running()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*VM){
		func(v *VM) { v.ID = "../x" },
		func(v *VM) { v.Name = "" },
		func(v *VM) { v.Power = "Suspended" },
		func(v *VM) { v.Transition = &Transition{Kind: "Migrating", Until: t0} },
		func(v *VM) { v.CloneOf = "nope" },
		func(v *VM) { v.Spec.CPU = 0 },
	}
	for i, mutate := range bad {
		vm := running()
		mutate(&vm)
		if err := vm.Validate(); KindOf(err) != KindInvalidArgument {
			t.Errorf("case %d: Validate() = %v, want invalid argument", i, err)
		}
	}
}

func running() VM { return NewVM(NewID(), "vm", validSpec(), t0.Add(-time.Hour), 0) }

func stopped() VM {
	vm := running()
	vm.Power = PowerOff
	return vm
}

func creating() VM { return NewVM(NewID(), "vm", validSpec(), t0, 10*time.Second) }

func rebooting() VM {
	vm := running()
	_ = vm.ApplyPower(OpReboot, t0, 10*time.Second)
	return vm
}
