package domain

import "strconv"

// Hardware limits. They are generous for a simulator but keep every value far from integer
// overflow in any unit conversion an adapter or client might do (MiB to bytes fits in int64).
const (
	MaxCPU       = 1024
	MaxMemoryMiB = 16 * 1024 * 1024 // 16 TiB
	MaxDisks     = 16
	MaxDiskGiB   = 64 * 1024 // 64 TiB
)

// Image names what a VM was created from.
type Image struct {
	TemplateName string
	URL          string
}

// Name is the image as one string, as the tutorial API sees it: the template name, else the URL.
func (i Image) Name() string {
	if i.TemplateName != "" {
		return i.TemplateName
	}
	return i.URL
}

// Disk is one virtual disk of a VM.
type Disk struct {
	SizeGiB int32
}

// Spec is the desired hardware of a VM; snapshots record it and revert restores it.
type Spec struct {
	CPU       int32
	MemoryMiB int64
	Image     Image
	Disks     []Disk
}

// Validate checks that every value is in range.
func (s Spec) Validate() error {
	if err := ValidateCPU(int64(s.CPU)); err != nil {
		return err
	}
	if err := ValidateMemoryMiB(s.MemoryMiB); err != nil {
		return err
	}
	if err := ValidateText("image template name", s.Image.TemplateName, MaxLabelLen); err != nil {
		return err
	}
	if err := ValidateText("image URL", s.Image.URL, MaxTextLen); err != nil {
		return err
	}
	return ValidateDisks(s.Disks)
}

// ValidateCPU checks a CPU count. It takes an int64 so that adapters can validate a decoded
// value before narrowing it to int32.
func ValidateCPU(cpu int64) error {
	if cpu <= 0 {
		return InvalidArgument("cpu must be at least 1, got %d", cpu)
	}
	if cpu > MaxCPU {
		return InvalidArgument("cpu must be at most %d, got %d", MaxCPU, cpu)
	}
	return nil
}

// ValidateMemoryMiB checks a memory size in MiB.
func ValidateMemoryMiB(mib int64) error {
	if mib <= 0 {
		return InvalidArgument("memory must be at least 1 MiB, got %d", mib)
	}
	if mib > MaxMemoryMiB {
		return InvalidArgument("memory must be at most %d MiB, got %d", MaxMemoryMiB, mib)
	}
	return nil
}

// ValidateDisks checks a disk list.
func ValidateDisks(disks []Disk) error {
	if len(disks) > MaxDisks {
		return InvalidArgument("%d disks given, at most %d are allowed", len(disks), MaxDisks)
	}
	for i, d := range disks {
		if err := ValidateDiskGiB(strconv.Itoa(i), int64(d.SizeGiB)); err != nil {
			return err
		}
	}
	return nil
}

// ValidateDiskGiB checks the size of the disk named by index.
func ValidateDiskGiB(index string, gib int64) error {
	if gib <= 0 || gib > MaxDiskGiB {
		return InvalidArgument("disk %s: size must be between 1 and %d GiB, got %d", index, MaxDiskGiB, gib)
	}
	return nil
}

// Clone returns a deep copy, so that a stored spec never shares memory with a caller.
func (s Spec) Clone() Spec {
	if s.Disks != nil {
		s.Disks = append([]Disk(nil), s.Disks...)
	}
	return s
}

// Equal reports whether two specs describe the same hardware.
func (s Spec) Equal(o Spec) bool {
	if s.CPU != o.CPU || s.MemoryMiB != o.MemoryMiB || s.Image != o.Image || len(s.Disks) != len(o.Disks) {
		return false
	}
	for i := range s.Disks {
		if s.Disks[i] != o.Disks[i] {
			return false
		}
	}
	return true
}
