# Requirement IDs are stable: an ID names one rule forever. A rule that is dropped keeps its ID
# listed below, and the ID is never reassigned.
# Retired IDs: none
#
# N is the configured idempotency count (default 3).
Feature: Snapshot profile
  A provider that advertises snapshots (v1: supports_snapshots in GetCapabilities; tutorial: the
  vm.snapshot capability) must pass the snapshot profile. A snapshot records a VM's hardware and power
  state; reverting to it brings both back.

  @snapshot @SNAP-001
  Scenario: Taking a snapshot of a VM returns a non-empty snapshot id
    Given a VM
    When I take a snapshot "s1" of the VM
    Then the snapshot "s1" has a non-empty id

  @snapshot @SNAP-002
  Scenario: Taking a snapshot of an unknown VM answers NotFound
    When I try to take a snapshot of a VM with an unknown id
    Then the provider answers NotFound

  @snapshot @SNAP-003
  Scenario: Taking a snapshot of a VM with an empty id is rejected as invalid
    When I try to take a snapshot of a VM with an empty id
    Then the provider answers InvalidArgument

  @snapshot @SNAP-004
  Scenario: Snapshots taken repeatedly of one VM each get their own id
    Given a VM
    When I take N snapshots of the VM with distinct names
    Then the snapshots all have different, non-empty ids

  @snapshot @SNAP-005 @needs-snapshot-revert
  Scenario: Reverting to a snapshot restores the CPU and memory it recorded, in every view
    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    When I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    And I revert the VM to snapshot "s1"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-006 @needs-snapshot-revert
  Scenario Outline: Reverting to a snapshot of a stopped VM leaves the VM Off
    A disk-only snapshot of a running VM reverts to a stopped VM on real hypervisors (vSphere,
    Proxmox), so only the stopped case is a rule for every provider.

    Given a <initial> VM
    And I take a snapshot "s1" of the VM
    When I power the VM <op>
    And I revert the VM to snapshot "s1"
    Then the VM is <recorded> in every view

    Examples:
      | initial | op  | recorded |
      | stopped | on  | Off      |

  @snapshot @SNAP-007 @needs-snapshot-revert
  Scenario: Reverting to an older snapshot restores the older state, and the newer one stays usable
    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "old" of the VM
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I take a snapshot "new" of the VM
    And I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    When I revert the VM to snapshot "old"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view
    When I revert the VM to snapshot "new"
    Then the VM has 3 CPUs and 3072 MiB of memory in every view

  @snapshot @SNAP-008 @needs-snapshot-revert
  Scenario: Reverting to an unknown snapshot answers NotFound and changes nothing
    Neither the hardware nor the power state: a provider that stops the VM before it looks for
    the snapshot leaves a running VM Off.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I power the VM on
    When I try to revert the VM to an unknown snapshot
    Then the provider answers NotFound
    And the VM has 2 CPUs and 2048 MiB of memory in every view
    And the VM is On in every view

  @snapshot @SNAP-009 @needs-snapshot-delete @needs-snapshot-revert
  Scenario: A deleted snapshot is gone: reverting to it answers NotFound
    Given a VM
    And I take a snapshot "s1" of the VM
    When I delete the snapshot "s1"
    And I try to revert the VM to snapshot "s1"
    Then the provider answers NotFound

  @snapshot @SNAP-010 @needs-snapshot-delete
  Scenario: Deleting an unknown snapshot of an existing VM succeeds
    Like VM delete, snapshot delete is idempotent.

    Given a VM
    When I try to delete an unknown snapshot of the VM
    Then the provider answers OK

  @snapshot @SNAP-011 @needs-snapshot-delete
  Scenario: Repeating a snapshot delete is safe
    Given a VM
    And I take a snapshot "s1" of the VM
    When I send the delete request for snapshot "s1" N times
    Then every repetition succeeds

  @snapshot @SNAP-012 @needs-snapshot-delete @needs-snapshot-revert
  Scenario: Deleting a VM deletes its snapshots, even for a new VM of the same name
    A provider that derives ids from names must not let a new VM inherit old snapshots (s2 is
    never deleted on its own). Deleting the vanished snapshot afterwards must not fail
    otherwise: OK (snapshot delete is idempotent) or NotFound (its VM is gone) both tell the
    manager that nothing is left.

    Given a VM
    And I take a snapshot "s1" of the VM
    And I take a snapshot "s2" of the VM
    When I delete the VM
    And I try to revert the VM to snapshot "s1"
    Then the provider answers NotFound
    When I try to delete the snapshot "s1"
    Then the provider answers OK or NotFound
    When I create the VM again under the same name
    And I try to revert the VM to snapshot "s1"
    Then the provider answers NotFound
    When I try to revert the VM to snapshot "s2"
    Then the provider answers NotFound

  @snapshot @SNAP-013 @needs-snapshot-delete @needs-snapshot-revert
  Scenario Outline: Snapshot revert and delete reject an empty VM id or snapshot id as invalid
    Given a VM
    And I take a snapshot "s1" of the VM
    When I try to <action> snapshot "s1" with <empty>
    Then the provider answers InvalidArgument

    Examples:
      | action    | empty              |
      | revert to | an empty VM id     |
      | revert to | an empty snapshot id |
      | delete    | an empty VM id     |
      | delete    | an empty snapshot id |

  @snapshot @SNAP-014 @needs-snapshot-revert
  Scenario: A snapshot belongs to its VM: reverting another VM to it answers NotFound
    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And a VM "b" with 3 CPUs and 3072 MiB of memory
    And I take a snapshot "s1" of the VM "a"
    When I try to revert the VM "b" to snapshot "s1"
    Then the provider answers NotFound
    And the VM "b" has 3 CPUs and 3072 MiB of memory in every view

  @snapshot @SNAP-015 @needs-snapshot-delete @needs-snapshot-revert
  Scenario: Deleting a snapshot leaves the VM's other snapshots usable
    A provider that keeps snapshots in a chain must merge a deleted one into its neighbours, not
    drop them, and must not apply the deleted one to the VM on the way.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I take a snapshot "s2" of the VM
    And I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    When I delete the snapshot "s1"
    Then the VM has 4 CPUs and 4096 MiB of memory in every view
    When I revert the VM to snapshot "s2"
    Then the VM has 3 CPUs and 3072 MiB of memory in every view

  @snapshot @SNAP-016 @needs-snapshot-revert
  Scenario: A snapshot survives a revert: reverting to it twice restores it twice
    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    When I revert the VM to snapshot "s1"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view
    When I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    And I revert the VM to snapshot "s1"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-017
  Scenario Outline: Taking a snapshot leaves the VM's power state as it was
    Disk-only snapshots do not stop VMs on real hypervisors, so this holds for every provider.

    Given a <initial> VM
    When I take a snapshot "s1" of the VM
    Then the VM is <state> in every view

    Examples:
      | initial | state |
      | running | On    |
      | stopped | Off   |

  @snapshot @SNAP-018 @needs-snapshot-revert
  Scenario Outline: A snapshot id is opaque: a path-like variant of it reaches no snapshot
    As CORE-040 for VM ids: a provider that keeps snapshots in files named by their ids must not
    resolve a client's snapshot id as a path. {id} stands for the snapshot's id, {nul} for a NUL
    byte.

    Given a VM
    And I take a snapshot "s1" of the VM
    When I try to revert the VM to snapshot "s1" by the id "<variant>"
    Then the provider answers NotFound or InvalidArgument

    Examples:
      | variant    |
      | ./{id}     |
      | x/../{id}  |
      | {id}{nul}  |

  @snapshot @SNAP-019 @needs-snapshot-delete @needs-snapshot-revert
  Scenario: A snapshot belongs to its VM: deleting it through another VM leaves it usable
    As SNAP-014 for delete: a provider that finds a snapshot by its id alone deletes another
    VM's snapshot. OK (nothing of that VM's to delete) or NotFound both leave it alone.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And a VM "b"
    And I take a snapshot "s1" of the VM "a"
    And I reconfigure the VM "a" to 3 CPUs and 3072 MiB of memory
    When I try to delete the snapshot "s1" through the VM "b"
    Then the provider answers OK or NotFound
    When I revert the VM "a" to snapshot "s1"
    Then the VM "a" has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-020 @needs-snapshot-revert
  Scenario: A snapshot belongs to its VM, not to a clone made after it
    As SNAP-014 for a clone: the clone starts as a copy of the source, but the source's
    snapshots stay the source's. Where the provider does not clone, "b" is a new VM and the
    rule is SNAP-014's.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM "a"
    And I reconfigure the VM "a" to 3 CPUs and 3072 MiB of memory
    And a clone "b" of "a", or a new VM "b" with 3 CPUs and 3072 MiB of memory where the provider does not clone
    When I try to revert the VM "b" to snapshot "s1"
    Then the provider answers NotFound
    And the VM "b" has 3 CPUs and 3072 MiB of memory in every view

  @snapshot @SNAP-021 @needs-snapshot-delete @needs-snapshot-revert
  Scenario: A snapshot taken after another was deleted gets an id of its own, and the others stay as they were
    A provider that numbers snapshots by their count hands the next one the id of a snapshot
    that still exists, and overwrites it.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I take a snapshot "s2" of the VM
    And I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    When I delete the snapshot "s1"
    And I take a snapshot "s3" of the VM
    Then the snapshots "s2" and "s3" have different ids
    When I revert the VM to snapshot "s2"
    Then the VM has 3 CPUs and 3072 MiB of memory in every view
    When I revert the VM to snapshot "s3"
    Then the VM has 4 CPUs and 4096 MiB of memory in every view

  @snapshot @SNAP-022 @needs-snapshot-revert
  Scenario: Reverting a VM leaves its clones as they were
    A clone is independent: a provider that keeps a clone linked to its source's snapshot tree
    must not carry the source's revert over to it. Where the provider does not clone, "b" is a
    new VM.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM "a"
    And I reconfigure the VM "a" to 3 CPUs and 3072 MiB of memory
    And a clone "b" of "a", or a new VM "b" with 3 CPUs and 3072 MiB of memory where the provider does not clone
    When I revert the VM "a" to snapshot "s1"
    Then the VM "a" has 2 CPUs and 2048 MiB of memory in every view
    And the VM "b" has 3 CPUs and 3072 MiB of memory in every view

  @snapshot @SNAP-023
  Scenario: A VM that has snapshots can be deleted
    The manager deletes VMs whatever snapshots they hold; a provider whose hypervisor refuses
    to remove a VM with snapshots (libvirt without its snapshot-metadata flag) must remove them
    itself.

    Given a VM
    And I take a snapshot "s1" of the VM
    When I delete the VM
    Then the VM no longer exists in any view

  @snapshot @SNAP-024 @needs-snapshot-revert
  Scenario: Every one of three snapshots of a VM can be reverted to
    SNAP-004 already requires a provider to take N snapshots of one VM, so three are within
    every provider's means. A provider that keeps fewer and drops the oldest without a word
    (a retention limit) loses a snapshot the manager still counts on.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I take a snapshot "s2" of the VM
    And I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    And I take a snapshot "s3" of the VM
    When I revert the VM to snapshot "s1"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-025 @needs-snapshot-revert
  Scenario: Deleting a clone leaves its source's snapshots usable
    A linked clone may share its source's snapshot tree; deleting the clone must not take the
    source's snapshots along. Where the provider does not clone, "b" is a new VM.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM "a"
    And a clone "b" of "a", or a new VM "b" with 2 CPUs and 2048 MiB of memory where the provider does not clone
    And I reconfigure the VM "a" to 3 CPUs and 3072 MiB of memory
    When I delete the VM "b"
    And I revert the VM "a" to snapshot "s1"
    Then the VM "a" has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-026 @needs-snapshot-revert @needs-snapshot-delete
  Scenario: Deleting a snapshot leaves another one taken under the same name hint
    The manager names snapshots after the VMSnapshot object, so a name hint can come again
    (an object deleted and made anew). A provider may refuse the second snapshot
    (AlreadyExists, InvalidArgument, FailedPrecondition, or a task that fails), answer with
    the first one's id, or take a new one; a new one is a snapshot of its own, and deleting
    it by its id leaves the first one where it was.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM
    And I reconfigure the VM to 4 CPUs and 4096 MiB of memory
    When I take a snapshot "s2" of the VM under the name hint of "s1"
    And I delete the snapshot "s2" if it is a snapshot of its own
    And I revert the VM to snapshot "s1"
    Then the VM has 2 CPUs and 2048 MiB of memory in every view

  @snapshot @SNAP-027
  Scenario: Snapshots of one VM taken in parallel get ids of their own
    The manager reconciles VMSnapshot objects side by side, several of one VM among them. A
    provider that numbers snapshots from a counter read outside its lock hands two of them one
    id, and deleting or reverting one then acts on the other. A hypervisor that runs one
    snapshot task per VM at a time may refuse the others as busy (Unavailable, Aborted,
    ResourceExhausted, FailedPrecondition, or a task that ends with an error).

    Given a VM
    When I take P snapshots of the VM with distinct names in parallel
    Then every snapshot taken has an id of its own, and every other one was refused as busy
