package brokenprovider

import (
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// collideWindow is how long a create of concurrent-creates-collide lingers before it runs, so
// that creates sent together overlap even on a loaded machine.
const collideWindow = 150 * time.Millisecond

type (
	v1Server  = providerv1.ProviderServer
	tutServer = tutorialv1.ProviderServiceServer
)

// Catalog lists every defect, grouped by family in the contract's order. Each call returns
// new values; the constructors inside build fresh state per wrapped server.
func Catalog() []Defect {
	return append([]Defect{
		// capabilities
		{
			Name: "snapshots-advertised-unimplemented", Family: Capabilities,
			Bug:      "advertises snapshots, but taking one answers Unimplemented",
			V1:       func(p v1Server) v1Server { return v1SnapshotsUnimplemented{p} },
			Tutorial: func(p tutServer) tutServer { return tutSnapshotsUnimplemented{p} },
		},
		{
			Name: "capabilities-unstable", Family: Capabilities,
			Bug:      "the capabilities carry a live value (free space, room for VMs) that changes between calls",
			V1:       func(p v1Server) v1Server { return v1UnstableCapabilities{p, &atomic.Int64{}} },
			Tutorial: func(p tutServer) tutServer { return tutUnstableCapabilities{p, &atomic.Int64{}} },
		},
		{
			Name: "snapshots-hidden", Family: Capabilities,
			Bug: "snapshots work, but the capabilities say they are not offered",
			V1: func(p v1Server) v1Server {
				return v1Capabilities{p, func(c *providerv1.GetCapabilitiesResponse) { c.SupportsSnapshots = false }}
			},
			Tutorial: func(p tutServer) tutServer { return tutHideCapability{p, "vm.snapshot"} },
		},
		{
			Name: "clones-hidden", Family: Capabilities,
			Bug:      "clones work, but the provider says it offers none (v1: Unimplemented to a clone without a source)",
			V1:       func(p v1Server) v1Server { return v1HideClones{p} },
			Tutorial: func(p tutServer) tutServer { return tutHideCapability{p, "vm.clone"} },
		},
		{
			Name: "memory-snapshots-advertised", Family: Capabilities,
			Bug: "advertises memory snapshots, but a snapshot with memory answers Unimplemented",
			V1: func(p v1Server) v1Server {
				return v1Capabilities{p, func(c *providerv1.GetCapabilitiesResponse) { c.SupportsMemorySnapshots = true }}
			},
		},
		{
			Name: "linked-clones-advertised", Family: Capabilities,
			Bug: "advertises linked clones, but a linked clone answers Unimplemented",
			V1: func(p v1Server) v1Server {
				return v1Capabilities{p, func(c *providerv1.GetCapabilitiesResponse) { c.SupportsLinkedClones = true }}
			},
		},
		{
			Name: "disk-export-advertised", Family: Capabilities,
			Bug: "advertises disk export, but ExportDisk answers Unimplemented",
			V1: func(p v1Server) v1Server {
				return v1Capabilities{p, func(c *providerv1.GetCapabilitiesResponse) { c.SupportsDiskExport = true }}
			},
		},
		// validate
		{
			Name: "validate-not-ok", Family: Validate,
			Bug: "Validate answers ok=false on a healthy provider",
			V1:  func(p v1Server) v1Server { return v1ValidateNotOK{p} },
		},
		// create
		{
			Name: "create-ignores-requested-hardware", Family: Create,
			Bug: "v1: reads cpus/memory instead of the producer's CPU/MemoryMiB, so every VM silently gets the default size " +
				"(and a CPU of \"two\" or 0 goes unnoticed); tutorial: ignores VMSpec cpu and memory",
			V1:       func(p v1Server) v1Server { return v1LowercaseClassKeys{p} },
			Tutorial: func(p tutServer) tutServer { return tutIgnoresSpecHardware{p} },
		},
		{
			Name: "create-not-idempotent", Family: Create,
			Bug:      "every create makes a new VM, even for a name that exists",
			V1:       func(p v1Server) v1Server { return v1NotIdempotent{p, newDuplicateNames()} },
			Tutorial: func(p tutServer) tutServer { return tutNotIdempotent{p, newDuplicateNames()} },
		},
		{
			Name: "create-returns-empty-id", Family: Create,
			Bug:      "creates the VM but answers with an empty id",
			V1:       func(p v1Server) v1Server { return v1EmptyCreateID{p} },
			Tutorial: func(p tutServer) tutServer { return tutEmptyCreateID{p} },
		},
		{
			Name: "class-keys-strict", Family: Create,
			Bug: "refuses a class with keys besides CPU and MemoryMiB, so it refuses the manager's whole VMClass",
			V1:  func(p v1Server) v1Server { return v1ClassKeysStrict{p} },
		},
		{
			Name: "create-retry-starts-vm", Family: Create,
			Bug:      "a repeated create of a name powers the existing VM on, as if asked to start it",
			V1:       func(p v1Server) v1Server { return v1CreateRetryStartsVM{p} },
			Tutorial: func(p tutServer) tutServer { return tutCreateRetryStartsVM{p} },
		},
		{
			Name: "create-accepts-zero-cpu", Family: Create,
			Bug:      "a CPU count of 0 or less is taken as 1 instead of being rejected",
			V1:       func(p v1Server) v1Server { return v1AcceptsZeroCPU{p} },
			Tutorial: func(p tutServer) tutServer { return tutAcceptsZeroCPU{p} },
		},
		{
			Name: "create-without-name-accepted", Family: Create,
			Bug:      "a create without a name makes one up instead of answering InvalidArgument",
			V1:       func(p v1Server) v1Server { return v1NamelessCreate{p} },
			Tutorial: func(p tutServer) tutServer { return tutNamelessCreate{p} },
		},
		{
			Name: "create-accepts-malformed-class", Family: Create,
			Bug: "class_json that cannot be read falls back to a default class instead of InvalidArgument",
			V1:  func(p v1Server) v1Server { return v1LenientClass{p} },
		},
		{
			Name: "concurrent-creates-collide", Family: Create,
			Bug: "ids are allocated outside the lock: creates that overlap in time get the first one's id " +
				"and overwrite its record, so their own VMs are lost",
			V1:       func(p v1Server) v1Server { return v1CollidingCreates{p, &collider{window: collideWindow}} },
			Tutorial: func(p tutServer) tutServer { return tutCollidingCreates{p, &collider{window: collideWindow}} },
		},
		{
			Name: "concurrent-reconfigures-lost", Family: Reconfigure,
			Bug: "the inventory is one document, read before a (slow) reconfigure and written back after it: " +
				"reconfigures of distinct VMs that overlap lose all but the last",
			V1:       func(p v1Server) v1Server { return v1LostUpdates{p, &inventory{window: collideWindow}, reconfigures} },
			Tutorial: func(p tutServer) tutServer { return tutLostUpdates{p, &inventory{window: collideWindow}, reconfigures} },
		},
		{
			Name: "concurrent-power-lost", Family: Power,
			Bug: "the inventory is one document, read before a (slow) power change and written back after it: " +
				"power changes of distinct VMs that overlap lose all but the last",
			V1:       func(p v1Server) v1Server { return v1LostUpdates{p, &inventory{window: collideWindow}, powerChanges} },
			Tutorial: func(p tutServer) tutServer { return tutLostUpdates{p, &inventory{window: collideWindow}, powerChanges} },
		},
		{
			Name: "ids-as-paths", Family: ErrorCodes,
			Bug: "ids are file names, never checked: ./ID, x/../ID and ID followed by a NUL byte all reach VM " +
				"(or, v1, snapshot) ID " +
				"(filepath.Join cleans the path, the file system ends the name at the NUL)",
			V1:       func(p v1Server) v1Server { return v1IDsAsPaths{p} },
			Tutorial: func(p tutServer) tutServer { return tutIDsAsPaths{p} },
		},
		// describe
		{
			Name: "describe-unknown-notfound", Family: Describe,
			Bug: "Describe of an unknown VM answers NotFound instead of exists=false",
			V1:  func(p v1Server) v1Server { return v1DescribeUnknown{p, codes.NotFound} },
		},
		{
			Name: "describe-unknown-internal", Family: Describe,
			Bug:      "Describe/GetVM of an unknown VM answers Internal (the failed lookup escapes)",
			V1:       func(p v1Server) v1Server { return v1DescribeUnknown{p, codes.Internal} },
			Tutorial: func(p tutServer) tutServer { return tutGetUnknownInternal{p} },
		},
		{
			Name: "power-state-vendor-names", Family: Describe,
			Bug: "Describe/GetVM reports the hypervisor's own power state names " +
				"(v1: poweredOn/poweredOff; tutorial: running/stopped) instead of the API's",
			V1:       func(p v1Server) v1Server { return v1VendorPowerStates{p} },
			Tutorial: func(p tutServer) tutServer { return tutLowercaseStates{p} },
		},
		// list
		{
			Name: "list-omits-stopped", Family: List,
			Bug:      "the VM list shows running VMs only (virsh list without --all)",
			V1:       func(p v1Server) v1Server { return v1ListOmitsStopped{p} },
			Tutorial: func(p tutServer) tutServer { return tutListOmitsStopped{p} },
		},
		{
			Name: "list-shows-inventory-paths", Family: List,
			Bug:      "the VM list names VMs by their inventory path (/dc1/vm/<name>) instead of their name",
			V1:       func(p v1Server) v1Server { return v1ListInventoryPaths{p} },
			Tutorial: func(p tutServer) tutServer { return tutListInventoryPaths{p} },
		},
		{
			Name: "stale-hardware-view", Family: List,
			Bug: "one view serves CPU and memory from a cache filled at create time and never refreshed " +
				"(v1: ListVMs; tutorial: GetVM, its only view with hardware)",
			V1:       func(p v1Server) v1Server { return v1StaleListHardware{p, &hardwareCache{}} },
			Tutorial: func(p tutServer) tutServer { return tutStaleGetHardware{p, &hardwareCache{}} },
		},
		{
			Name: "list-keeps-deleted", Family: List,
			Bug:      "the VM list keeps showing deleted VMs",
			V1:       func(p v1Server) v1Server { return v1ListKeepsDeleted{p, &ghosts[*providerv1.VMInfo]{}} },
			Tutorial: func(p tutServer) tutServer { return tutListKeepsDeleted{p, &ghosts[*tutorialv1.VMSummary]{}} },
		},
		// power
		{
			Name: "reboot-leaves-off", Family: Power,
			Bug:      "REBOOT powers the VM off and never starts it again",
			V1:       func(p v1Server) v1Server { return v1RebootLeavesOff{p} },
			Tutorial: func(p tutServer) tutServer { return tutRebootLeavesOff{p} },
		},
		{
			Name: "power-accepts-unspecified", Family: Power,
			Bug: "POWER_OP_UNSPECIFIED is answered OK as a no-op",
			V1: func(p v1Server) v1Server {
				return v1PowerAcceptsOps{p, func(op providerv1.PowerOp) bool { return op == providerv1.PowerOp_POWER_OP_UNSPECIFIED }}
			},
			Tutorial: func(p tutServer) tutServer {
				return tutPowerAcceptsOps{p, func(op tutorialv1.PowerOp) bool { return op == tutorialv1.PowerOp_POWER_OP_UNSPECIFIED }}
			},
		},
		{
			Name: "power-accepts-undefined-ops", Family: Power,
			Bug: "power operations beyond the enum (99, -1) are answered OK as a no-op",
			V1: func(p v1Server) v1Server {
				return v1PowerAcceptsOps{p, func(op providerv1.PowerOp) bool {
					return op < 0 || op > providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL
				}}
			},
			Tutorial: func(p tutServer) tutServer {
				return tutPowerAcceptsOps{p, func(op tutorialv1.PowerOp) bool { return op < 0 || op > tutorialv1.PowerOp_POWER_OP_REBOOT }}
			},
		},
		{
			Name: "power-unknown-vm-ok", Family: Power,
			Bug:      "power of an unknown VM answers OK instead of NotFound",
			V1:       func(p v1Server) v1Server { return v1PowerUnknownOK{p} },
			Tutorial: func(p tutServer) tutServer { return tutPowerUnknownOK{p} },
		},
		{
			Name: "graceful-shutdown-ignored", Family: Power,
			Bug: "SHUTDOWN_GRACEFUL answers OK and leaves the VM running",
			V1:  func(p v1Server) v1Server { return v1GracefulIgnored{p} },
		},
		// reconfigure
		{
			Name: "reconfigure-ignores-cpu", Family: Reconfigure,
			Bug:      "reconfigure reads the CPU count under another key and keeps the old one",
			V1:       func(p v1Server) v1Server { return v1ReconfigureIgnores{p, "CPU"} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateIgnores{p, "cpu"} },
		},
		{
			Name: "reconfigure-ignores-memory", Family: Reconfigure,
			Bug:      "reconfigure reads the memory size under another key and keeps the old one",
			V1:       func(p v1Server) v1Server { return v1ReconfigureIgnores{p, "MemoryMiB"} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateIgnores{p, "memory"} },
		},
		{
			Name: "reconfigure-unknown-vm-ok", Family: Reconfigure,
			Bug:      "reconfigure of an unknown VM answers OK instead of NotFound",
			V1:       func(p v1Server) v1Server { return v1ReconfigureUnknownOK{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateUnknownOK{p} },
		},
		{
			Name: "reconfigure-accepts-zero-cpu", Family: Reconfigure,
			Bug:      "reconfigure to 0 CPUs (or fewer) answers OK and keeps the old count instead of InvalidArgument",
			V1:       func(p v1Server) v1Server { return v1ReconfigureAcceptsZeroCPU{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateAcceptsZeroCPU{p} },
		},
		{
			Name: "reconfigure-leaves-vm-off", Family: Reconfigure,
			Bug:      "a reconfigure stops a running VM to apply the change and never starts it again",
			V1:       func(p v1Server) v1Server { return v1ReconfigureLeavesOff{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateLeavesOff{p} },
		},
		{
			Name: "reconfigure-starts-stopped-vm", Family: Reconfigure,
			Bug:      "powers the VM on after changing its size, even when it was stopped",
			V1:       func(p v1Server) v1Server { return v1ReconfigureStartsVM{p} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateStartsVM{p} },
		},
		// delete
		{
			Name: "delete-unknown-notfound", Family: Delete,
			Bug:      "delete of an unknown or already deleted VM answers NotFound: not idempotent",
			V1:       func(p v1Server) v1Server { return v1DeleteUnknownNotFound{p} },
			Tutorial: func(p tutServer) tutServer { return tutDeleteUnknownNotFound{p} },
		},
		// tasks
		{
			Name: "task-reconfigure-never-done", Family: Tasks,
			Bug: "TaskStatus of a reconfigure task stays done=false forever",
			V1:  func(p v1Server) v1Server { return v1ReconfigureTaskNeverDone{p, &idSet{}} },
		},
		{
			Name: "task-power-message-in-error", Family: Tasks,
			Bug: "power tasks finish with their success message in the error field",
			V1:  func(p v1Server) v1Server { return v1PowerTaskMessageInError{p, &idSet{}} },
		},
		{
			Name: "task-unknown-done", Family: Tasks,
			Bug: "TaskStatus of an unknown task answers OK done=true instead of NotFound",
			V1:  func(p v1Server) v1Server { return v1UnknownTaskDone{p} },
		},
		{
			Name: "task-unknown-invalid", Family: Tasks,
			Bug: "TaskStatus calls every unknown task id malformed (InvalidArgument), even one in its own format",
			V1:  func(p v1Server) v1Server { return v1UnknownTaskInvalid{p} },
		},
		{
			Name: "task-nil-internal", Family: Tasks,
			Bug: "TaskStatus without a task reference panics (answered Internal) instead of InvalidArgument",
			V1:  func(p v1Server) v1Server { return v1NilTaskInternal{p} },
		},
		// error codes
		{
			Name: "empty-id-internal", Family: ErrorCodes,
			Bug:      "an empty VM, snapshot or source id answers Internal instead of InvalidArgument",
			V1:       func(p v1Server) v1Server { return v1EmptyIDInternal{p} },
			Tutorial: func(p tutServer) tutServer { return tutEmptyIDInternal{p} },
		},
		{
			Name: "malformed-json-unknown", Family: ErrorCodes,
			Bug: "malformed JSON payloads answer Unknown (the decoder's error returned as is) instead of InvalidArgument",
			V1:  func(p v1Server) v1Server { return v1JSONErrorsUnknown{p} },
		},
		// robustness
		{
			Name: "wedge-after-nameless-create", Family: Robustness,
			Bug: "after a create without a name, every write blocks forever (the upstream mock's lock bug)",
			V1:  func(p v1Server) v1Server { return v1WedgeOnNamelessCreate{p, &atomic.Bool{}} },
		},
		{
			Name: "delete-keeps-name", Family: Delete,
			Bug:      "keeps a deleted VM's name in its name index: creating the name again answers with the deleted VM's id",
			V1:       func(p v1Server) v1Server { return v1DeleteKeepsName{p, &nameIDs{}} },
			Tutorial: func(p tutServer) tutServer { return tutDeleteKeepsName{p, &nameIDs{}} },
		},
		// snapshot
		{
			Name: "revert-keeps-cpu", Family: Snapshot,
			Bug: "revert restores memory and power state but not the CPU count",
			V1:  func(p v1Server) v1Server { return v1RevertKeepsCPU{p} },
		},
		{
			Name: "snapshot-delete-noop", Family: Snapshot,
			Bug: "snapshot delete answers OK and keeps the snapshot revertable",
			V1:  func(p v1Server) v1Server { return v1SnapshotDeleteNoop{p} },
		},
		{
			Name: "snapshot-unknown-vm-internal", Family: Snapshot,
			Bug:      "a snapshot of an unknown VM answers Internal instead of NotFound",
			V1:       func(p v1Server) v1Server { return v1SnapshotUnknownVM{p, codes.Internal} },
			Tutorial: func(p tutServer) tutServer { return tutSnapshotUnknownVM{p, codes.Internal} },
		},
		{
			Name: "snapshot-unknown-vm-ok", Family: Snapshot,
			Bug:      "a snapshot of an unknown VM answers OK with a made-up id",
			V1:       func(p v1Server) v1Server { return v1SnapshotUnknownVM{p, codes.OK} },
			Tutorial: func(p tutServer) tutServer { return tutSnapshotUnknownVM{p, codes.OK} },
		},
		{
			Name: "vm-delete-keeps-snapshots", Family: Snapshot,
			Bug: "snapshots outlive their VM and a new VM of the same name can be reverted to them",
			V1:  func(p v1Server) v1Server { return v1OrphanSnapshots{p, newSnapshotOwners()} },
		},
		{
			Name: "one-snapshot-per-vm", Family: Snapshot,
			Bug:      "one checkpoint per VM, named after the VM: every snapshot gets the VM's id and replaces the previous one",
			V1:       func(p v1Server) v1Server { return v1OneSnapshotPerVM{p, &latestSnapshot{}} },
			Tutorial: func(p tutServer) tutServer { return tutOneSnapshotPerVM{p} },
		},
		{
			Name: "snapshot-delete-removes-all", Family: Snapshot,
			Bug: "deleting one snapshot deletes every snapshot of the VM",
			V1:  func(p v1Server) v1Server { return v1SnapshotDeleteRemovesAll{p, &clones{}} },
		},
		{
			Name: "revert-consumes-snapshot", Family: Snapshot,
			Bug: "a revert deletes the snapshot it restored: a second revert to it answers NotFound",
			V1:  func(p v1Server) v1Server { return v1RevertConsumesSnapshot{p} },
		},
		{
			Name: "snapshot-leaves-vm-off", Family: Snapshot,
			Bug:      "taking a snapshot stops a running VM and never starts it again",
			V1:       func(p v1Server) v1Server { return v1SnapshotLeavesOff{p} },
			Tutorial: func(p tutServer) tutServer { return tutSnapshotLeavesOff{p} },
		},
		{
			Name: "snapshot-delete-ignores-vm", Family: Snapshot,
			Bug: "finds a snapshot to delete by its id alone, so deleting it through another VM deletes it",
			V1:  func(p v1Server) v1Server { return v1SnapshotDeleteIgnoresVM{p, &owners{}} },
		},
		// clone
		{
			Name: "clone-shares-config", Family: Clone,
			Bug:      "a clone shares its source's configuration: reconfiguring the source changes the clone",
			V1:       func(p v1Server) v1Server { return v1CloneSharesConfig{p, &clones{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneSharesConfig{p, &clones{}} },
		},
		{
			Name: "clone-deleted-with-source", Family: Clone,
			Bug:      "deleting a VM deletes its clones too",
			V1:       func(p v1Server) v1Server { return v1CloneDeletedWithSource{p, &clones{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneDeletedWithSource{p, &clones{}} },
		},
		{
			Name: "clone-ignores-override", Family: Clone,
			Bug: "a clone's class_json override is never read",
			V1:  func(p v1Server) v1Server { return v1CloneIgnoresOverride{p} },
		},
		{
			Name: "clone-unknown-source-internal", Family: Clone,
			Bug:      "cloning an unknown source answers Internal instead of NotFound",
			V1:       func(p v1Server) v1Server { return v1CloneUnknownSourceInternal{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneUnknownSourceInternal{p} },
		},
		{
			Name: "clone-empty-target-accepted", Family: Clone,
			Bug:      "a clone without a target name is named <source>-clone instead of being rejected",
			V1:       func(p v1Server) v1Server { return v1CloneDefaultsTargetName{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneDefaultsTargetName{p} },
		},
		{
			Name: "clone-answers-source-id", Family: Clone,
			Bug:      "clones, but answers with the source's id as the clone's id",
			V1:       func(p v1Server) v1Server { return v1CloneAnswersSourceID{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneAnswersSourceID{p} },
		},
		{
			Name: "clone-to-taken-name", Family: Clone,
			Bug:      "a clone to a name any VM holds answers with that VM's id, as if it were the clone",
			V1:       func(p v1Server) v1Server { return v1CloneToTakenName{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneToTakenName{p} },
		},
		{
			Name: "clone-override-defaults-memory", Family: Clone,
			Bug: "a clone override that gives only cpu gets 1 GiB of memory instead of the source's",
			V1:  func(p v1Server) v1Server { return v1CloneOverrideDefaultsMemory{p} },
		},
		{
			Name: "clone-retry-already-exists", Family: Clone,
			Bug:      "repeating a clone (same source, same target name) answers AlreadyExists instead of the clone it made",
			V1:       func(p v1Server) v1Server { return v1CloneRetryAlreadyExists{p, &idSet{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneRetryAlreadyExists{p, &idSet{}} },
		},
		{
			Name: "clone-stops-source", Family: Clone,
			Bug:      "cloning stops the running source and never starts it again",
			V1:       func(p v1Server) v1Server { return v1CloneStopsSource{p} },
			Tutorial: func(p tutServer) tutServer { return tutCloneStopsSource{p} },
		},
		// third mutation round --------------------------------------------------------------
		{
			Name: "reboot-stopped-stays-off", Family: Power,
			Bug:      "a reboot of a stopped VM answers OK and leaves the VM Off",
			V1:       func(p v1Server) v1Server { return v1RebootStoppedNoop{p} },
			Tutorial: func(p tutServer) tutServer { return tutRebootStoppedNoop{p} },
		},
		{
			Name: "memory-rounded-to-gib", Family: Create,
			Bug:      "create allocates memory in whole GiB: 1536 MiB becomes 2048",
			V1:       func(p v1Server) v1Server { return v1MemoryRoundedToGiB{p} },
			Tutorial: func(p tutServer) tutServer { return tutMemoryRoundedToGiB{p} },
		},
		{
			Name: "cpu-fraction-truncated", Family: Create,
			Bug: "the class's CPU is read as a float and truncated: 2.5 CPUs make 2",
			V1:  func(p v1Server) v1Server { return v1CPUFractionTruncated{p} },
		},
		{
			Name: "names-cut", Family: Create,
			Bug:      "names are stored in a 40-character column: longer ones are cut",
			V1:       func(p v1Server) v1Server { return v1NamesCut{p} },
			Tutorial: func(p tutServer) tutServer { return tutNamesCut{p} },
		},
		{
			Name: "health-provider-not-serving", Family: Validate,
			Bug:    `the health service answers SERVING for "" but NOT_SERVING for "provider"`,
			Health: healthProviderNotServing,
		},
		{
			Name: "list-first-page", Family: List,
			Bug:      "ListVMs answers with the hypervisor API's first page of 50 VMs only",
			V1:       func(p v1Server) v1Server { return v1ListFirstPage{p} },
			Tutorial: func(p tutServer) tutServer { return tutListFirstPage{p} },
		},
		{
			Name: "reconfigure-by-name", Family: Reconfigure,
			Bug: "a reconfigure of an unknown id changes the VM named in the desired state",
			V1:  func(p v1Server) v1Server { return v1ReconfigureByName{p} },
		},
		{
			Name: "revert-stops-first", Family: Snapshot,
			Bug: "a revert powers the VM off before it looks for the snapshot; an unknown one leaves it Off",
			V1:  func(p v1Server) v1Server { return v1RevertStopsFirst{p} },
		},
		{
			Name: "snapshot-ids-by-count", Family: Snapshot,
			Bug: "snapshot ids count the VM's snapshots: after a delete the next one takes the id of one that exists",
			V1:  func(p v1Server) v1Server { return v1SnapshotIDsByCount{p, newCountedIDs()} },
		},
		{
			Name: "clone-shares-snapshots", Family: Snapshot,
			Bug: "a clone's revert to a snapshot of its source answers OK",
			V1:  func(p v1Server) v1Server { return v1CloneSharesSnapshots{p, &sync.Map{}} },
		},
		{
			Name: "clone-copies-create-request", Family: Clone,
			Bug:      "a clone gets the hardware its source was created with, not the source's current hardware",
			V1:       func(p v1Server) v1Server { return v1CloneCopiesCreateRequest{p, &createdHardware{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneCopiesCreateRequest{p, &createdHardware{}} },
		},
		{
			Name: "decimal-quantity-as-binary", Family: Clone,
			Bug: `a clone override's memory "2097152k" is read as "2097152Ki"`,
			V1:  func(p v1Server) v1Server { return v1DecimalQuantityAsBinary{p} },
		},
		// fourth mutation round --------------------------------------------------------------
		{
			Name: "shrink-ignored", Family: Reconfigure,
			Bug:      "a reconfigure that makes a VM smaller answers OK and keeps the old size",
			V1:       func(p v1Server) v1Server { return v1ShrinkIgnored{p} },
			Tutorial: func(p tutServer) tutServer { return tutShrinkIgnored{p} },
		},
		{
			Name: "reconfigure-cpu-wraps", Family: Reconfigure,
			Bug: "the desired CPU is converted to int32: fractions are cut and numbers beyond 32 bits wrap",
			V1:  func(p v1Server) v1Server { return v1ReconfigureCPUWraps{p} },
		},
		{
			Name: "clone-override-lenient", Family: Clone,
			Bug: "a clone override the provider cannot use (unreadable, 0 CPUs, 0Mi) makes a plain clone",
			V1:  func(p v1Server) v1Server { return v1CloneOverrideLenient{p} },
		},
		{
			Name: "clone-retry-any-source", Family: Clone,
			Bug: "a clone to a name another clone holds answers with that clone, whatever its source",
			V1:  func(p v1Server) v1Server { return v1CloneRetryAnySource{p, &cloneSources{}} },
		},
		{
			Name: "clone-of-clone-retry-refused", Family: Clone,
			Bug: "a clone of a clone is recorded under the first source, so its retry answers AlreadyExists",
			V1:  func(p v1Server) v1Server { return v1CloneOfCloneRetryRefused{p, &cloneSources{}} },
		},
		{
			Name: "revert-reaches-clones", Family: Snapshot,
			Bug: "a revert of a VM carries over to its clones, which share its snapshot chain",
			V1:  func(p v1Server) v1Server { return v1RevertReachesClones{p, &clones{}} },
		},
		// sixth mutation round ---------------------------------------------------------------
		{
			Name: "delete-by-name-prefix", Family: Delete,
			Bug:      "finds the VMs to delete by a name pattern (name*): deleting a VM deletes every VM whose name begins with its name",
			V1:       func(p v1Server) v1Server { return v1DeleteByNamePrefix{p} },
			Tutorial: func(p tutServer) tutServer { return tutDeleteByNamePrefix{p} },
		},
		{
			Name: "delete-unknown-by-tombstone", Family: Delete,
			Bug: "deletes are idempotent only for ids it remembers deleting: a well-formed id it never issued " +
				"answers NotFound (v1: VM and snapshot deletes; tutorial: DeleteVM)",
			V1: func(p v1Server) v1Server {
				return v1DeleteUnknownByTombstone{p, &issuedIDs{}, &issuedIDs{}}
			},
			Tutorial: func(p tutServer) tutServer { return tutDeleteUnknownByTombstone{p, &issuedIDs{}} },
		},
		{
			Name: "reconfigure-shared-class", Family: Reconfigure,
			Bug: "VMs created from the same class share one parsed class object: reconfiguring one resizes " +
				"every VM created with that class",
			V1:       func(p v1Server) v1Server { return v1ReconfigureSharedClass{p, &classGroups{}} },
			Tutorial: func(p tutServer) tutServer { return tutUpdateSharedClass{p, &classGroups{}} },
		},
		{
			Name: "reconfigure-done-early", Family: Tasks,
			Bug: "a reconfigure's task is done when the change is queued; the new size shows up 3s later",
			V1:  func(p v1Server) v1Server { return v1ReconfigureDoneEarly{p} },
		},
		{
			Name: "clone-retry-cache-stale", Family: Clone,
			Bug: "a clone retry cache keyed by (source, target name) is never invalidated: after the clone is deleted, " +
				"cloning the source to that name again answers with the deleted clone's id",
			V1:       func(p v1Server) v1Server { return v1CloneRetryCacheStale{p, &cloneRetries{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneRetryCacheStale{p, &cloneRetries{}} },
		},
		{
			Name: "tasks-forgotten", Family: Tasks,
			Bug: "tasks are kept for one second: TaskStatus of a task that succeeded answers NotFound afterwards",
			V1:  func(p v1Server) v1Server { return v1TasksForgotten{p, &issuedTasks{}} },
		},
		{
			Name: "noop-task-unknown", Family: Tasks,
			Bug: "a call that changes nothing (power to the current state, reconfigure to the current size, a repeated " +
				"create, a delete of a VM that is gone) answers with a task id it never registers",
			V1: func(p v1Server) v1Server { return v1NoopTaskUnknown{p, &idSet{}} },
		},
		{
			Name: "capabilities-until-first-create", Family: Capabilities,
			Bug: "opens its hypervisor session lazily on the first create; until then GetCapabilities answers OK with " +
				"nothing offered (v1: every flag false; tutorial: vm.snapshot and vm.clone unsupported)",
			V1:       func(p v1Server) v1Server { return v1CapabilitiesUntilFirstCreate{p, &atomic.Bool{}} },
			Tutorial: func(p tutServer) tutServer { return tutCapabilitiesUntilFirstCreate{p, &atomic.Bool{}} },
		},
		{
			Name: "name-dots-replaced", Family: Create,
			Bug:      "makes names hostname-safe: a dot in a VM name becomes a dash",
			V1:       func(p v1Server) v1Server { return v1NameDotsReplaced{p} },
			Tutorial: func(p tutServer) tutServer { return tutNameDotsReplaced{p} },
		},
		{
			Name: "power-off-stopped-refused", Family: Power,
			Bug:      "stopping a VM that is already Off answers FailedPrecondition (vSphere's InvalidPowerState passed on)",
			V1:       func(p v1Server) v1Server { return v1PowerOffStoppedRefused{p} },
			Tutorial: func(p tutServer) tutServer { return tutPowerOffStoppedRefused{p} },
		},
		{
			Name: "describe-stale-power", Family: Describe,
			Bug:      "Describe/GetVM serves the power state from a cache filled at create time and never refreshed",
			V1:       func(p v1Server) v1Server { return v1DescribeStalePower{p, &sync.Map{}} },
			Tutorial: func(p tutServer) tutServer { return tutGetStalePower{p, &sync.Map{}} },
		},
		{
			Name: "list-running-twice", Family: List,
			Bug:      "lists running VMs twice (the running domains, then every defined domain)",
			V1:       func(p v1Server) v1Server { return v1ListRunningTwice{p} },
			Tutorial: func(p tutServer) tutServer { return tutListRunningTwice{p} },
		},
		{
			Name: "snapshot-delete-reverts", Family: Snapshot,
			Bug: "deleting a snapshot applies it first: the VM returns to the state the snapshot recorded",
			V1:  func(p v1Server) v1Server { return v1SnapshotDeleteReverts{p} },
		},
		{
			Name: "revert-ignores-vm", Family: Snapshot,
			Bug: "finds the snapshot to revert to by its id alone: reverting VM b to a's snapshot reverts a and answers OK",
			V1:  func(p v1Server) v1Server { return v1RevertIgnoresVM{p, &owners{}} },
		},
		{
			Name: "clone-describe-source-name", Family: Clone,
			Bug: "a clone's record is a copy of its source's with only the list entry renamed: Describe " +
				"(v1: provider_raw_json name; tutorial: GetVM name) reports the source's name",
			V1:       func(p v1Server) v1Server { return v1CloneDescribeSourceName{p, &sync.Map{}} },
			Tutorial: func(p tutServer) tutServer { return tutCloneGetSourceName{p, &sync.Map{}} },
		},
		{
			Name: "delete-refuses-vm-with-snapshots", Family: Delete,
			Bug: "undefines the domain without the snapshot-metadata flag: deleting a VM that has snapshots " +
				"answers FailedPrecondition",
			V1:       func(p v1Server) v1Server { return v1DeleteRefusesSnapshots{p, &snapshotCounts{}} },
			Tutorial: func(p tutServer) tutServer { return tutDeleteRefusesSnapshots{p, &snapshotCounts{}} },
		},
	}, append(append(round7Catalog(), round8Catalog()...), round9Catalog()...)...)
}
