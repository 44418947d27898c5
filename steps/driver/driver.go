// Package driver is the suite's single view of a provider: a small interface in the words of
// the domain (VMs, power, snapshots, clones), with one implementation per provider API
// ("dialect"). The step definitions only ever talk to a Driver, so the same feature files run
// against every dialect.
package driver

import (
	"context"
	"errors"
	"fmt"
)

// PowerOp is a requested power transition. The numeric values are those of the wire protocol,
// so out-of-range values can be sent on purpose by negative scenarios.
type PowerOp int32

const (
	PowerUnspecified      PowerOp = 0
	PowerOn               PowerOp = 1
	PowerOff              PowerOp = 2
	PowerReboot           PowerOp = 3
	PowerShutdownGraceful PowerOp = 4
)

// String names a power operation as the wire enum does, or by number when it has no name.
func (op PowerOp) String() string {
	switch op {
	case PowerUnspecified:
		return "UNSPECIFIED"
	case PowerOn:
		return "ON"
	case PowerOff:
		return "OFF"
	case PowerReboot:
		return "REBOOT"
	case PowerShutdownGraceful:
		return "SHUTDOWN_GRACEFUL"
	}
	return fmt.Sprintf("%d", int32(op))
}

// Power states as the manager understands them. Drivers normalise their dialect's states to
// these where an exact mapping exists and pass anything else through unchanged.
const (
	StateOn  = "On"
	StateOff = "Off"
)

// Spec is the hardware the suite asks for. Extra payloads come from configuration so that a
// provider that needs, say, a template name or a network can be certified.
type Spec struct {
	CPU       int32
	MemoryMiB int64
	Image     string
	DiskGiB   int32
	// Optional raw JSON for the wire dialect's image_json / networks_json / placement_json.
	// Empty means "derive from Image" (image) or "send nothing" (networks, placement).
	ImageJSON     string
	NetworksJSON  string
	PlacementJSON string
}

// VM is what a provider reports about one VM, in one view (Describe or ListVMs).
type VM struct {
	ID    string
	Name  string
	Power string
	// CPU and MemoryMiB are zero when the view does not report them; HasHardware tells.
	CPU         int32
	MemoryMiB   int64
	HasHardware bool
	// IPs are the addresses the view reports, as sent; nil in a dialect without them.
	IPs []string
}

// Description is the answer of Describe. Exists is false (with no error) for an unknown id.
type Description struct {
	Exists bool
	VM
	// Raw is the provider's own description of the VM (v1: provider_raw_json), as sent;
	// empty in a dialect without one.
	Raw string
	// ConsoleURL is where the VM's console is reached (v1: console_url), as sent; empty
	// when not reported or in a dialect without one.
	ConsoleURL string
}

// Capabilities is what the provider says it offers, read on the wire.
type Capabilities struct {
	Snapshots bool
	Clones    bool
	// ReconfigureOnline: a running VM can be reconfigured without being stopped. v1 reads
	// supports_reconfigure_online; the tutorial API has no such flag, so it is false there
	// (vm.update says that UpdateVM works, not that the VM keeps running through it).
	ReconfigureOnline bool
	// Core holds, in a dialect that advertises the core operations, whether each is offered
	// by its name (tutorial: vm.create, vm.read, vm.update, vm.delete, vm.power; absent means
	// not listed); nil in a dialect without such flags (v1).
	Core map[string]bool
	// MemorySnapshots and LinkedClones: a snapshot may include the VM's memory, a clone may be
	// linked (v1: supports_memory_snapshots, supports_linked_clones; the tutorial API has no
	// such variants).
	MemorySnapshots, LinkedClones bool
	// Advertised holds the v1 capability flags by their field name (supports_image_import,
	// supports_disk_export, ...), for the calls beyond the profiles.
	Advertised map[string]bool
	// Raw is a printable form of the provider's own answer, for reports.
	Raw string
	// Lists holds the answer's lists of names by their field name (v1:
	// supported_disk_types, ...; tutorial: the capability names), as sent.
	Lists map[string][]string
	// SnapshotsFrom and ClonesFrom say what Snapshots and Clones were read from (a part of
	// Raw), for a reason that names only what matters.
	SnapshotsFrom, ClonesFrom string
	// answer is the whole answer where Raw leaves parts out (the tutorial's descriptions), so
	// that two Capabilities are equal only when the provider said the same thing.
	answer string
}

// From is the evidence for one capability ("snapshot" or "clone"), Raw when none is kept or
// the capability rests on both (a linked clone needs clones and the flag).
func (c Capabilities) From(capability string) string {
	from := ""
	switch capability {
	case "snapshot":
		from = c.SnapshotsFrom
	case "clone":
		from = c.ClonesFrom
	}
	if from == "" {
		return c.Raw
	}
	return from
}

// Feature names something a dialect can or cannot express. Feature files tag scenarios
// with @needs-<feature>; a scenario whose feature the dialect lacks is skipped with a reason.
type Feature string

const (
	// FeatureRawPayload: the dialect can send hand-made JSON payloads (malformed class JSON,
	// producer shapes).
	FeatureRawPayload Feature = "raw-payload"
	// FeatureTasks: mutating calls may return task references that are polled.
	FeatureTasks Feature = "tasks"
	// FeatureValidate: the dialect has a Validate call.
	FeatureValidate Feature = "validate"
	// FeatureGracefulShutdown: the dialect has a graceful-shutdown power operation.
	FeatureGracefulShutdown Feature = "graceful-shutdown"
	// FeatureSnapshotRevert and FeatureSnapshotDelete: the dialect can revert to and delete
	// snapshots.
	FeatureSnapshotRevert Feature = "snapshot-revert"
	FeatureSnapshotDelete Feature = "snapshot-delete"
	// FeatureCloneOverride: clone accepts a hardware override.
	FeatureCloneOverride Feature = "clone-override"
	// FeatureListHardware: ListVMs reports CPU and memory.
	FeatureListHardware Feature = "list-hardware"
	// FeatureDescribeExists: Describe answers exists=false for unknown ids (instead of NotFound).
	FeatureDescribeExists Feature = "describe-exists"
	// FeatureVariants: the dialect can ask for a snapshot with memory and a linked clone, and
	// its capabilities say whether they are offered.
	FeatureVariants Feature = "variants"
	// FeatureHealth: the dialect's providers promise grpc.health.v1 (the driver implements
	// HealthChecker).
	FeatureHealth Feature = "health"
	// FeatureAddresses: the views report IP addresses and a console URL.
	FeatureAddresses Feature = "addresses"
)

// CoreCapabilities are the tutorial API's names of the core operations.
var CoreCapabilities = []string{"vm.create", "vm.read", "vm.update", "vm.delete", "vm.power"}

// Features lists every feature a scenario can need, in a stable order.
func Features() []Feature {
	return []Feature{
		FeatureRawPayload, FeatureTasks, FeatureValidate, FeatureGracefulShutdown,
		FeatureSnapshotRevert, FeatureSnapshotDelete, FeatureCloneOverride,
		FeatureListHardware, FeatureDescribeExists, FeatureVariants, FeatureHealth,
		FeatureAddresses,
	}
}

// Driver is one dialect's client. Every method returns the gRPC status error of the provider
// unchanged (status.Code(err) must stay meaningful). Methods that start a task wait for it
// (the wait is bounded by ctx) and report a task failure as an error.
type Driver interface {
	// Dialect is the dialect's name, e.g. "v1" or "tutorial".
	Dialect() string
	// Supports reports whether the dialect can express a feature, and if not, why.
	Supports(f Feature) (ok bool, reason string)

	Capabilities(ctx context.Context) (Capabilities, error)
	Validate(ctx context.Context) (ok bool, message string, err error)

	Create(ctx context.Context, name string, spec Spec) (id string, err error)
	Describe(ctx context.Context, id string) (Description, error)
	List(ctx context.Context) ([]VM, error)
	Power(ctx context.Context, id string, op PowerOp) error
	// Reconfigure asks for spec as the VM's new desired state. name is the VM's name: the v1
	// desired state is a whole create request, and that carries the name.
	Reconfigure(ctx context.Context, id, name string, spec Spec) error
	Delete(ctx context.Context, id string) error

	SnapshotCreate(ctx context.Context, vmID, name string) (snapshotID string, err error)
	SnapshotRevert(ctx context.Context, vmID, snapshotID string) error
	SnapshotDelete(ctx context.Context, vmID, snapshotID string) error

	// Clone copies source to a VM named target; override, when non-nil, replaces CPU/memory.
	Clone(ctx context.Context, sourceID, target string, override *Spec) (id string, err error)
}

// ErrNotExpressible is wrapped by the error of a method whose operation the dialect has no
// call for. The steps never reach it for features a dialect reports unsupported; it exists
// so that a misuse fails loudly instead of sending something else.
var ErrNotExpressible = errors.New("not expressible in this dialect")

// RawPayloads is implemented by dialects that carry hardware as JSON strings, so that the
// suite can put the producer's exact payloads (and malformed ones) on the wire. A dialect
// that reports FeatureRawPayload supported implements it.
type RawPayloads interface {
	// CreateRaw is Create with classJSON sent verbatim as the class.
	CreateRaw(ctx context.Context, name string, spec Spec, classJSON string) (id string, err error)
	// ReconfigureRaw sends desiredJSON verbatim as the desired state.
	ReconfigureRaw(ctx context.Context, id, desiredJSON string) error
	// DesiredJSON is the desired state Reconfigure sends for a VM named name.
	DesiredJSON(name string, spec Spec) string
	// CreatePayload renders the JSON fields Create sends for spec, for failure messages.
	CreatePayload(spec Spec) string
	// CloneRaw is Clone with classJSON sent verbatim as the override.
	CloneRaw(ctx context.Context, sourceID, target, classJSON string) (id string, err error)
}

// Variants is implemented by dialects that report FeatureVariants supported.
type Variants interface {
	// SnapshotCreateWithMemory takes a snapshot that includes the VM's memory.
	SnapshotCreateWithMemory(ctx context.Context, vmID, name string) (snapshotID string, err error)
	// LinkedClone makes a clone that shares the source's disks.
	LinkedClone(ctx context.Context, sourceID, target string) (id string, err error)
	// EmptyCall sends the named RPC (ImagePrepare, ExportDisk, ImportDisk) an empty request.
	EmptyCall(ctx context.Context, rpc string) error
}

// HealthChecker is implemented by dialects that report FeatureHealth supported.
type HealthChecker interface {
	// Health asks grpc.health.v1.Health/Check about service and returns the status name
	// (SERVING, NOT_SERVING, ...).
	Health(ctx context.Context, service string) (string, error)
}

// TaskState is one answer of a task-status query.
type TaskState struct {
	Done  bool
	Error string
}

// Tasks is implemented by dialects whose mutating calls return task references. A dialect
// that reports FeatureTasks supported implements it.
type Tasks interface {
	// TaskStatus asks about the task with the given id; withRef=false sends no task
	// reference at all (the id is then ignored).
	TaskStatus(ctx context.Context, id string, withRef bool) (TaskState, error)
	// StartDelete and StartPower send Delete or Power and return the task id without
	// waiting for it (empty when the call finished synchronously); AwaitTask then waits for
	// that task as every other call does, and logs it.
	StartDelete(ctx context.Context, id string) (taskID string, err error)
	StartPower(ctx context.Context, id string, op PowerOp) (taskID string, err error)
	AwaitTask(ctx context.Context, call, taskID string) error
}
