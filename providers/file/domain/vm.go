// Package domain is the file provider's model: VMs, snapshots, the power state machine,
// validation and classified errors. It knows nothing about gRPC or files; the store persists
// it and the API adapters translate it.
package domain

import (
	"time"
)

// Power is the settled power state of a VM.
type Power string

const (
	PowerOn  Power = "On"
	PowerOff Power = "Off"
)

// Valid reports whether p is a known power state.
func (p Power) Valid() bool { return p == PowerOn || p == PowerOff }

// State is what a client observes at a given instant: the settled power state, or the
// transition still in progress.
type State string

const (
	StateCreating  State = "Creating"
	StateRunning   State = "Running"
	StateStopped   State = "Stopped"
	StateRebooting State = "Rebooting"
)

// TransitionKind names a simulated transition. Both end with the VM powered on.
type TransitionKind string

const (
	TransitionCreating  TransitionKind = "Creating"
	TransitionRebooting TransitionKind = "Rebooting"
)

// Transition is a simulated operation in progress. It is data, not a goroutine: it ends by
// itself when the clock passes Until, and every read evaluates it against the clock. That is
// what makes the provider race-free and lets a restarted provider finish transitions that
// were in flight when it was killed.
type Transition struct {
	Kind  TransitionKind
	Until time.Time
}

// PowerOp is a requested power operation.
type PowerOp int

const (
	OpOn PowerOp = iota + 1
	OpOff
	OpReboot
	OpShutdownGraceful
)

func (op PowerOp) String() string {
	switch op {
	case OpOn:
		return "on"
	case OpOff:
		return "off"
	case OpReboot:
		return "reboot"
	case OpShutdownGraceful:
		return "shutdown-graceful"
	default:
		return "unknown"
	}
}

// VM is one virtual machine. Name and ID never change after creation.
type VM struct {
	ID   string
	Name string
	Spec Spec
	// Power is the power state once Transition (if any) has ended.
	Power      Power
	Transition *Transition
	// CloneOf is the id of the VM this one was cloned from ("" for created VMs); it makes a
	// repeated Clone idempotent.
	CloneOf   string
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewVM returns a VM that is being created: it is Creating until now+delay, then Running.
func NewVM(id, name string, spec Spec, now time.Time, delay time.Duration) VM {
	vm := VM{
		ID:        id,
		Name:      name,
		Spec:      spec.Clone(),
		Power:     PowerOn,
		CreatedAt: now,
		UpdatedAt: now,
	}
	vm.startTransition(TransitionCreating, now, delay)
	return vm
}

// Validate checks every field, e.g. of a VM read back from storage.
func (vm VM) Validate() error {
	if err := ValidateID("vm", vm.ID); err != nil {
		return err
	}
	if err := ValidateName(vm.Name); err != nil {
		return err
	}
	if err := vm.Spec.Validate(); err != nil {
		return err
	}
	if !vm.Power.Valid() {
		return InvalidArgument("power state %q is unknown", vm.Power)
	}
	if t := vm.Transition; t != nil && t.Kind != TransitionCreating && t.Kind != TransitionRebooting {
		return InvalidArgument("transition %q is unknown", t.Kind)
	}
	if vm.CloneOf != "" {
		if err := ValidateID("source vm", vm.CloneOf); err != nil {
			return err
		}
	}
	return ValidateTags(vm.Tags)
}

// StateAt is the state a client observes at now.
func (vm VM) StateAt(now time.Time) State {
	if t := vm.Transition; t != nil && now.Before(t.Until) {
		if t.Kind == TransitionCreating {
			return StateCreating
		}
		return StateRebooting
	}
	if vm.Power == PowerOn {
		return StateRunning
	}
	return StateStopped
}

// BusyUntil is when the pending transition ends; the zero time when none is pending at now.
// A task for an operation on this VM is done at BusyUntil.
func (vm VM) BusyUntil(now time.Time) time.Time {
	if t := vm.Transition; t != nil && now.Before(t.Until) {
		return t.Until
	}
	return time.Time{}
}

// CreatingUntil is when the VM's creation ends; the zero time when it has ended at now. The
// task of a create or clone (repeated or not) is done then, whatever the VM has been asked to
// do since: a repeated create of a VM that is rebooting does not wait for the reboot.
func (vm VM) CreatingUntil(now time.Time) time.Time {
	if t := vm.Transition; t != nil && t.Kind == TransitionCreating {
		return vm.BusyUntil(now)
	}
	return time.Time{}
}

// ApplyPower runs a power operation at now. OFF and SHUTDOWN_GRACEFUL stop the VM at once and
// cancel any transition; ON powers a stopped VM on and leaves a VM that is already on (or
// about to be) alone; REBOOT always ends powered on, passing through Rebooting for delay
// (a stopped VM is started, which is what a reboot request means to the manager).
func (vm *VM) ApplyPower(op PowerOp, now time.Time, delay time.Duration) error {
	switch op {
	case OpOn:
		if vm.Power == PowerOn {
			return nil // already on (or rebooting into On): nothing changes, nothing is written
		}
		vm.Power = PowerOn
		vm.Transition = nil
	case OpOff, OpShutdownGraceful:
		if vm.Power == PowerOff && vm.Transition == nil {
			return nil
		}
		vm.Power = PowerOff
		vm.Transition = nil
	case OpReboot:
		vm.Power = PowerOn
		vm.startTransition(TransitionRebooting, now, delay)
	default:
		return InvalidArgument("power operation %d is unknown", int(op))
	}
	vm.UpdatedAt = now
	return nil
}

// Settle drops a transition that has ended at now, so that stored records stay small and
// snapshots record a settled state.
func (vm *VM) Settle(now time.Time) {
	if vm.Transition != nil && !now.Before(vm.Transition.Until) {
		vm.Transition = nil
	}
}

func (vm *VM) startTransition(kind TransitionKind, now time.Time, delay time.Duration) {
	if delay <= 0 {
		vm.Transition = nil
		return
	}
	vm.Transition = &Transition{Kind: kind, Until: now.Add(delay)}
}

// Clone returns a deep copy.
func (vm VM) Clone() VM {
	vm.Spec = vm.Spec.Clone()
	if vm.Transition != nil {
		t := *vm.Transition
		vm.Transition = &t
	}
	if vm.Tags != nil {
		vm.Tags = append([]string(nil), vm.Tags...)
	}
	return vm
}

// CloneAs returns a new VM copying the hardware of vm under a new id and name. The copy is
// independent (no shared memory, no link to the source's snapshots) and boots like a created
// VM.
func (vm VM) CloneAs(id, name string, spec Spec, now time.Time, delay time.Duration) VM {
	c := NewVM(id, name, spec, now, delay)
	c.CloneOf = vm.ID
	if vm.Tags != nil {
		c.Tags = append([]string(nil), vm.Tags...)
	}
	return c
}
