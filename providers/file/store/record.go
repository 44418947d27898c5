package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vctsio/vcts/providers/file/domain"
)

// The on-disk schema. It is separate from the domain types so that the domain can change
// without silently changing the files, and carries a format name and version so that a file
// written by anyone else is recognised as foreign instead of half-understood.
const (
	vmFormat       = "vcts.file-provider.vm"
	snapshotFormat = "vcts.file-provider.snapshot"
	recordVersion  = 1
	// maxRecordSize bounds what is read from one file; a real record is a few hundred bytes.
	maxRecordSize = 1 << 20
)

type specRecord struct {
	CPU       int32        `json:"cpu"`
	MemoryMiB int64        `json:"memoryMiB"`
	Image     imageRecord  `json:"image"`
	Disks     []diskRecord `json:"disks,omitempty"`
}

type imageRecord struct {
	TemplateName string `json:"templateName,omitempty"`
	URL          string `json:"url,omitempty"`
}

type diskRecord struct {
	SizeGiB int32 `json:"sizeGiB"`
}

type transitionRecord struct {
	Kind  string    `json:"kind"`
	Until time.Time `json:"until"`
}

type vmRecord struct {
	Format     string            `json:"format"`
	Version    int               `json:"version"`
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Spec       specRecord        `json:"spec"`
	Power      string            `json:"power"`
	Transition *transitionRecord `json:"transition,omitempty"`
	CloneOf    string            `json:"cloneOf,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
}

type snapshotRecord struct {
	Format      string     `json:"format"`
	Version     int        `json:"version"`
	ID          string     `json:"id"`
	VMID        string     `json:"vmId"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Spec        specRecord `json:"spec"`
	Power       string     `json:"power"`
	CreatedAt   time.Time  `json:"createdAt"`
}

func toSpecRecord(s domain.Spec) specRecord {
	r := specRecord{CPU: s.CPU, MemoryMiB: s.MemoryMiB, Image: imageRecord(s.Image)}
	for _, d := range s.Disks {
		r.Disks = append(r.Disks, diskRecord(d))
	}
	return r
}

func (r specRecord) domain() domain.Spec {
	s := domain.Spec{CPU: r.CPU, MemoryMiB: r.MemoryMiB, Image: domain.Image(r.Image)}
	for _, d := range r.Disks {
		s.Disks = append(s.Disks, domain.Disk(d))
	}
	return s
}

func encodeVM(vm domain.VM) ([]byte, error) {
	r := vmRecord{
		Format:    vmFormat,
		Version:   recordVersion,
		ID:        vm.ID,
		Name:      vm.Name,
		Spec:      toSpecRecord(vm.Spec),
		Power:     string(vm.Power),
		CloneOf:   vm.CloneOf,
		Tags:      vm.Tags,
		CreatedAt: vm.CreatedAt.UTC(),
		UpdatedAt: vm.UpdatedAt.UTC(),
	}
	if t := vm.Transition; t != nil {
		r.Transition = &transitionRecord{Kind: string(t.Kind), Until: t.Until.UTC()}
	}
	return json.MarshalIndent(r, "", "  ")
}

// decodeVM parses and validates a VM file's content.
func decodeVM(data []byte) (domain.VM, error) {
	var r vmRecord
	if err := decodeStrict(data, &r); err != nil {
		return domain.VM{}, err
	}
	if r.Format != vmFormat || r.Version != recordVersion {
		return domain.VM{}, fmt.Errorf("format %q version %d, want %q version %d", r.Format, r.Version, vmFormat, recordVersion)
	}
	vm := domain.VM{
		ID:        r.ID,
		Name:      r.Name,
		Spec:      r.Spec.domain(),
		Power:     domain.Power(r.Power),
		CloneOf:   r.CloneOf,
		Tags:      r.Tags,
		CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
	}
	if t := r.Transition; t != nil {
		vm.Transition = &domain.Transition{Kind: domain.TransitionKind(t.Kind), Until: t.Until}
	}
	if err := vm.Validate(); err != nil {
		return domain.VM{}, err
	}
	return vm, nil
}

func encodeSnapshot(s domain.Snapshot) ([]byte, error) {
	return json.MarshalIndent(snapshotRecord{
		Format:      snapshotFormat,
		Version:     recordVersion,
		ID:          s.ID,
		VMID:        s.VMID,
		Name:        s.Name,
		Description: s.Description,
		Spec:        toSpecRecord(s.Spec),
		Power:       string(s.Power),
		CreatedAt:   s.CreatedAt.UTC(),
	}, "", "  ")
}

func decodeSnapshot(data []byte) (domain.Snapshot, error) {
	var r snapshotRecord
	if err := decodeStrict(data, &r); err != nil {
		return domain.Snapshot{}, err
	}
	if r.Format != snapshotFormat || r.Version != recordVersion {
		return domain.Snapshot{}, fmt.Errorf("format %q version %d, want %q version %d", r.Format, r.Version, snapshotFormat, recordVersion)
	}
	s := domain.Snapshot{
		ID:          r.ID,
		VMID:        r.VMID,
		Name:        r.Name,
		Description: r.Description,
		Spec:        r.Spec.domain(),
		Power:       domain.Power(r.Power),
		CreatedAt:   r.CreatedAt,
	}
	if err := s.Validate(); err != nil {
		return domain.Snapshot{}, err
	}
	return s, nil
}

// decodeStrict refuses unknown fields and trailing data: a file that is not exactly one of
// our records is not ours.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the record")
	}
	return nil
}
