// Package service holds the file provider's use cases (create, power, snapshot, clone...)
// once, for every API adapter: it validates, applies the domain rules and persists through
// the store. Adapters only translate their wire shapes to these calls and errors to codes.
package service

import (
	"errors"
	"log/slog"
	"reflect"
	"time"

	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/store"
)

// Options configure a Service.
type Options struct {
	Store *store.Store
	// TransitionDelay is how long Creating and Rebooting last; zero ends them at once.
	TransitionDelay time.Duration
	// Now is the clock (default time.Now); tests use a fake one.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is safe for concurrent use.
type Service struct {
	store *store.Store
	delay time.Duration
	now   func() time.Time
	log   *slog.Logger
}

// New returns a service over an open store.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TransitionDelay < 0 {
		opts.TransitionDelay = 0
	}
	return &Service{store: opts.Store, delay: opts.TransitionDelay, now: opts.Now, log: opts.Logger}
}

// Now is the service's clock; adapters evaluate states and task deadlines with it.
func (s *Service) Now() time.Time { return s.now() }

// Healthy reports whether the store can take writes.
func (s *Service) Healthy() error { return s.store.Healthy() }

// Count is the number of VMs.
func (s *Service) Count() int { return s.store.Len() }

// CreateRequest is a new VM.
type CreateRequest struct {
	Name string
	Spec domain.Spec
	Tags []string
}

// Create creates a VM, idempotently by name: when a VM of that name exists it is returned
// unchanged with created=false, whatever spec the request carries (a caller that wants a
// different spec reconfigures). This is what lets a manager that lost a Create answer retry.
func (s *Service) Create(req CreateRequest) (vm domain.VM, created bool, err error) {
	if err := domain.ValidateName(req.Name); err != nil {
		return domain.VM{}, false, err
	}
	if err := req.Spec.Validate(); err != nil {
		return domain.VM{}, false, err
	}
	if err := domain.ValidateTags(req.Tags); err != nil {
		return domain.VM{}, false, err
	}
	vm = domain.NewVM(domain.NewID(), req.Name, req.Spec, s.now(), s.delay)
	if len(req.Tags) > 0 {
		vm.Tags = append([]string(nil), req.Tags...)
	}
	err = s.store.Insert(vm)
	var taken *store.NameTakenError
	if errors.As(err, &taken) {
		if !taken.Existing.Spec.Equal(req.Spec) {
			s.log.Info("create of an existing name returned the existing VM unchanged; its spec differs from the request",
				"name", req.Name, "id", taken.Existing.ID)
		}
		return taken.Existing, false, nil
	}
	if err != nil {
		return domain.VM{}, false, err
	}
	return vm, true, nil
}

// Get returns a VM. A malformed id is InvalidArgument, an unknown one NotFound.
func (s *Service) Get(id string) (domain.VM, error) {
	if err := domain.ValidateID("vm", id); err != nil {
		return domain.VM{}, err
	}
	vm, ok := s.store.Get(id)
	if !ok {
		return domain.VM{}, domain.NotFound("vm %s not found", id)
	}
	return vm, nil
}

// List returns every VM, sorted by name.
func (s *Service) List() []domain.VM { return s.store.List() }

// Power applies a power operation.
func (s *Service) Power(id string, op domain.PowerOp) (domain.VM, error) {
	switch op {
	case domain.OpOn, domain.OpOff, domain.OpReboot, domain.OpShutdownGraceful:
	default:
		return domain.VM{}, domain.InvalidArgument("power operation %d is unknown", int(op))
	}
	now := s.now()
	return s.store.Update(id, func(vm *domain.VM) error {
		vm.Settle(now)
		return vm.ApplyPower(op, now, s.delay)
	})
}

// Change is a partial spec: zero CPU or MemoryMiB and nil Image or Disks keep the current
// value. Adapters reject explicit zeros before they get here.
type Change struct {
	CPU       int32
	MemoryMiB int64
	Image     *domain.Image
	// ImageName replaces the image by a template of this name unless the image already goes
	// by it (domain.Image.Name), so that a richer image is kept when only its name was sent.
	// It is compared with the VM's image under the VM's lock, never with an earlier read.
	ImageName *string
	Disks     *[]domain.Disk
}

// Empty reports whether the change changes nothing.
func (c Change) Empty() bool {
	return c.CPU == 0 && c.MemoryMiB == 0 && c.Image == nil && c.ImageName == nil && c.Disks == nil
}

func (c Change) apply(spec domain.Spec) domain.Spec {
	spec = spec.Clone()
	if c.CPU != 0 {
		spec.CPU = c.CPU
	}
	if c.MemoryMiB != 0 {
		spec.MemoryMiB = c.MemoryMiB
	}
	if c.Image != nil {
		spec.Image = *c.Image
	}
	if c.ImageName != nil && spec.Image.Name() != *c.ImageName {
		spec.Image = domain.Image{TemplateName: *c.ImageName}
	}
	if c.Disks != nil {
		spec.Disks = append([]domain.Disk(nil), (*c.Disks)...)
	}
	return spec
}

// Reconfigure changes the spec of a VM; the result must be a valid spec.
func (s *Service) Reconfigure(id string, c Change) (domain.VM, error) {
	if c.CPU < 0 || c.MemoryMiB < 0 {
		return domain.VM{}, domain.InvalidArgument("cpu and memory must be positive")
	}
	now := s.now()
	return s.store.Update(id, func(vm *domain.VM) error {
		next := c.apply(vm.Spec)
		if err := next.Validate(); err != nil {
			return err
		}
		vm.Settle(now)
		if reflect.DeepEqual(next, vm.Spec) {
			return nil // a repeated reconfigure changes nothing and writes nothing
		}
		vm.Spec = next
		vm.UpdatedAt = now
		return nil
	})
}

// Delete deletes a VM and its snapshots; it reports whether the VM existed. Deleting an
// unknown VM succeeds; a malformed id is InvalidArgument and touches nothing.
func (s *Service) Delete(id string) (existed bool, err error) {
	return s.store.Delete(id)
}

// SnapshotCreate records the spec and power state of a VM.
func (s *Service) SnapshotCreate(vmID, name, description string) (domain.Snapshot, error) {
	if err := domain.ValidateID("vm", vmID); err != nil {
		return domain.Snapshot{}, err
	}
	if err := domain.ValidateText("snapshot name", name, domain.MaxLabelLen); err != nil {
		return domain.Snapshot{}, err
	}
	if err := domain.ValidateText("snapshot description", description, domain.MaxTextLen); err != nil {
		return domain.Snapshot{}, err
	}
	now := s.now()
	id := domain.NewID()
	return s.store.CreateSnapshot(vmID, func(vm domain.VM) domain.Snapshot {
		return domain.NewSnapshot(id, vm, name, description, now)
	})
}

// SnapshotRevert restores the spec and power state a snapshot recorded. An unknown VM or
// snapshot is NotFound.
func (s *Service) SnapshotRevert(vmID, snapID string) (domain.VM, error) {
	if err := domain.ValidateID("vm", vmID); err != nil {
		return domain.VM{}, err
	}
	if err := domain.ValidateID("snapshot", snapID); err != nil {
		return domain.VM{}, err
	}
	now := s.now()
	return s.store.Update(vmID, func(vm *domain.VM) error {
		snap, ok := s.store.Snapshot(vmID, snapID)
		if !ok {
			return domain.NotFound("snapshot %s of vm %s not found", snapID, vmID)
		}
		vm.RevertTo(snap, now)
		return nil
	})
}

// SnapshotDelete deletes a snapshot; an unknown snapshot (or VM) is not an error.
func (s *Service) SnapshotDelete(vmID, snapID string) (existed bool, err error) {
	return s.store.DeleteSnapshot(vmID, snapID)
}

// Clone creates an independent copy of a VM named target, with the source's spec changed by
// override (only CPU and MemoryMiB are honoured). It is idempotent: when target already names
// a clone of the same source, that clone is returned unchanged with created=false. When
// target names any other VM (the source itself included), the answer is AlreadyExists.
func (s *Service) Clone(srcID, target string, override Change) (vm domain.VM, created bool, err error) {
	if err := domain.ValidateID("source vm", srcID); err != nil {
		return domain.VM{}, false, err
	}
	if err := domain.ValidateName(target); err != nil {
		return domain.VM{}, false, err
	}
	if override.Image != nil || override.Disks != nil {
		return domain.VM{}, false, domain.InvalidArgument("a clone override may change only cpu and memory")
	}
	src, ok := s.store.Get(srcID)
	if !ok {
		return domain.VM{}, false, domain.NotFound("source vm %s not found", srcID)
	}
	spec := override.apply(src.Spec)
	if err := spec.Validate(); err != nil {
		return domain.VM{}, false, err
	}
	vm = src.CloneAs(domain.NewID(), target, spec, s.now(), s.delay)
	err = s.store.Insert(vm)
	var taken *store.NameTakenError
	if errors.As(err, &taken) {
		if taken.Existing.CloneOf == srcID {
			return taken.Existing, false, nil
		}
		return domain.VM{}, false, domain.AlreadyExists("a VM named %q already exists and is not a clone of vm %s", target, srcID)
	}
	if err != nil {
		return domain.VM{}, false, err
	}
	return vm, true, nil
}
