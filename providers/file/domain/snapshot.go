package domain

import "time"

// MaxSnapshotsPerVM bounds the snapshots of one VM.
const MaxSnapshotsPerVM = 128

// Snapshot records the spec and the settled power state of a VM; reverting restores both.
type Snapshot struct {
	ID          string
	VMID        string
	Name        string
	Description string
	Spec        Spec
	Power       Power
	CreatedAt   time.Time
}

// NewSnapshot records vm as it is at now (a transition in progress is recorded as its end
// state: a VM being created or rebooted is recorded as powered on).
func NewSnapshot(id string, vm VM, name, description string, now time.Time) Snapshot {
	return Snapshot{
		ID:          id,
		VMID:        vm.ID,
		Name:        name,
		Description: description,
		Spec:        vm.Spec.Clone(),
		Power:       vm.Power,
		CreatedAt:   now,
	}
}

// Validate checks every field, e.g. of a snapshot read back from storage.
func (s Snapshot) Validate() error {
	if err := ValidateID("snapshot", s.ID); err != nil {
		return err
	}
	if err := ValidateID("vm", s.VMID); err != nil {
		return err
	}
	if err := ValidateText("snapshot name", s.Name, MaxLabelLen); err != nil {
		return err
	}
	if err := ValidateText("snapshot description", s.Description, MaxTextLen); err != nil {
		return err
	}
	if !s.Power.Valid() {
		return InvalidArgument("power state %q is unknown", s.Power)
	}
	return s.Spec.Validate()
}

// RevertTo restores the recorded spec and power state at now, cancelling any transition.
func (vm *VM) RevertTo(s Snapshot, now time.Time) {
	vm.Spec = s.Spec.Clone()
	vm.Power = s.Power
	vm.Transition = nil
	vm.UpdatedAt = now
}
