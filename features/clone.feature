# Requirement IDs are stable: an ID names one rule forever. A rule that is dropped keeps its ID
# listed below, and the ID is never reassigned.
# Retired IDs: none
Feature: Clone profile
  A provider that offers clones must pass the clone profile. The v1 protocol has no capability field
  for clones, so the suite asks with Clone requests that cannot create anything (no source, then a
  source that does not exist): Unimplemented means clones are not offered; InvalidArgument says
  nothing, so the next request is sent; any other answer means they are offered. In the tutorial
  API the vm.clone capability says.
  A clone is an independent VM: it starts as a copy of its source and then lives its own life.

  @clone @CLONE-001
  Scenario: Cloning a VM returns a target id different from the source id
    Given a VM "source"
    When I clone "source" to "copy"
    Then "copy" has a non-empty id different from the id of "source"

  @clone @CLONE-002
  Scenario: A clone exists and is listed under its target name
    Given a VM "source"
    When I clone "source" to "copy"
    Then the VM "copy" exists
    And the VM list shows the VM "copy" under its name

  @clone @CLONE-003
  Scenario: A clone has the source's CPU and memory
    Given a VM "source" with 3 CPUs and 3072 MiB of memory
    When I clone "source" to "copy"
    Then the VM "copy" has 3 CPUs and 3072 MiB of memory in every view

  @clone @CLONE-004 @needs-clone-override
  Scenario: A clone honours a CPU and memory override and leaves the source as it was
    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    When I clone "source" to "copy" with 4 CPUs and 8192 MiB of memory
    Then the VM "copy" has 4 CPUs and 8192 MiB of memory in every view
    And the VM "source" has 2 CPUs and 2048 MiB of memory in every view

  @clone @CLONE-005 @needs-clone-override @needs-raw-payload
  Scenario Outline: A clone reads its override from the producer's CRD camelCase JSON with quantity strings
    VirtRigaud's manager sends the clone class as the Kubernetes resource has it: camelCase keys and
    memory as a quantity string: binary (Mi, Gi) or decimal (k, M, G; 2097152k is 2097152000
    bytes, 2000 MiB). A value the override leaves out keeps the source's.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    When I clone "source" to "copy" with the class JSON '<class>'
    Then the VM "copy" has <cpu> CPUs and <memory> MiB of memory in every view

    Examples:
      | class                         | cpu | memory |
      | {"cpu":4,"memory":"8Gi"}      | 4   | 8192   |
      | {"cpu":3,"memory":"1536Mi"}   | 3   | 1536   |
      | {"cpu":4}                     | 4   | 2048   |
      | {"memory":"3Gi"}              | 2   | 3072   |
      | {"cpu":3,"memory":"2097152k"} | 3   | 2000   |

  @clone @CLONE-006
  Scenario: Reconfiguring the source leaves the clone as it was
    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And I clone "source" to "copy"
    When I reconfigure the VM "source" to 4 CPUs and 4096 MiB of memory
    Then the VM "copy" has 2 CPUs and 2048 MiB of memory in every view

  @clone @CLONE-007
  Scenario: Deleting the source leaves the clone as it was
    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And I clone "source" to "copy"
    When I delete the VM "source"
    Then the VM "copy" exists
    And the VM "copy" has 2 CPUs and 2048 MiB of memory in every view

  @clone @CLONE-008
  Scenario: Deleting the clone leaves the source as it was
    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And I clone "source" to "copy"
    When I delete the VM "copy"
    Then the VM "source" exists
    And the VM "source" has 2 CPUs and 2048 MiB of memory in every view

  @clone @CLONE-009
  Scenario: Cloning an unknown VM answers NotFound
    When I try to clone a VM with an unknown id
    Then the provider answers NotFound

  @clone @CLONE-010
  Scenario: Cloning a VM with an empty source id is rejected as invalid
    When I try to clone a VM with an empty id
    Then the provider answers InvalidArgument

  @clone @CLONE-011
  Scenario: Cloning to an empty target name is rejected as invalid
    Given a VM "source"
    When I try to clone "source" to an empty name
    Then the provider answers InvalidArgument

  @clone @CLONE-012
  Scenario: Repeating a clone with the same target name returns the same clone and creates nothing new
    The manager retries a clone whose answer it lost. A target name held by an earlier clone of
    the same source is that clone, not a conflict: the manager takes any code but NotFound,
    InvalidArgument, Unavailable and DeadlineExceeded as a failure, so AlreadyExists would fail
    a clone that succeeded.

    Given a VM "source"
    And I clone "source" to "copy"
    When I send the same clone of "source" to "copy" N times
    Then every repetition succeeds
    And every repetition returns the id of "copy"
    And the VM list shows exactly one VM under the name of "copy"

  @clone @CLONE-013
  Scenario: Cloning a running VM leaves the source On
    Real hypervisors clone a running VM without stopping it.

    Given a running VM "source"
    When I clone "source" to "copy"
    Then the VM "source" is On in every view

  @clone @CLONE-014
  Scenario Outline: Cloning to a name another VM holds is refused and leaves that VM as it was
    The name belongs to a VM that is no clone of the source: answering with its id would hand
    the manager a VM it did not ask for. AlreadyExists says so; FailedPrecondition and
    InvalidArgument are refusals too.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And a VM "other" with 3 CPUs and 3072 MiB of memory
    When I try to clone "source" to the name of "<holder>"
    Then the provider refuses it as AlreadyExists, FailedPrecondition or InvalidArgument
    And the VM "<holder>" has <cpu> CPUs and <memory> MiB of memory in every view
    And the VM list shows exactly one VM under the name of "<holder>"

    Examples:
      | holder | cpu | memory |
      | other  | 3   | 3072   |
      | source | 2   | 2048   |

  @clone @CLONE-015
  Scenario: Reconfiguring the clone leaves the source as it was
    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And I clone "source" to "copy"
    When I reconfigure the VM "copy" to 4 CPUs and 4096 MiB of memory
    Then the VM "source" has 2 CPUs and 2048 MiB of memory in every view
    And the VM "copy" has 4 CPUs and 4096 MiB of memory in every view

  @clone @CLONE-016
  Scenario: A clone copies its source as it is now, not as it was created or snapshotted
    A provider that copies the source's create request, or its newest snapshot, hands out a
    clone of a VM that no longer looks like that. The snapshot is taken only where the
    provider offers snapshots.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And I take a snapshot "s1" of the VM "source" where the provider offers snapshots
    And I reconfigure the VM "source" to 3 CPUs and 3072 MiB of memory
    When I clone "source" to "copy"
    Then the VM "copy" has 3 CPUs and 3072 MiB of memory in every view

  @clone @CLONE-017 @needs-clone-override @needs-raw-payload
  Scenario Outline: A clone override that is no CPU count or memory size is rejected as invalid and makes no clone
    As CORE-014 and CORE-015 for create: a provider that reads an unreadable override as "no
    override" (or 0 as "keep the source's") makes a clone of another size than the manager
    asked for.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    When I try to clone "source" to "copy" with the class JSON '<class>'
    Then the provider answers InvalidArgument
    And the VM list shows no VM under the name of "copy"

    Examples:
      | class                |
      | {"cpu":0}            |
      | {"cpu":-2}           |
      | {"cpu":2.5}          |
      | {"cpu":"four"}       |
      | {"memory":"0Mi"}     |
      | {"memory":"lots"}    |
      | not json             |

  @clone @CLONE-018
  Scenario: Cloning to the name of another VM's clone is refused and leaves that clone as it was
    As CLONE-014 for a name held by a clone: it is a clone, but of another source, so it is not
    the answer to a retry of this clone.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    And a VM "other" with 3 CPUs and 3072 MiB of memory
    And I clone "other" to "copy"
    When I try to clone "source" to the name of "copy"
    Then the provider refuses it as AlreadyExists, FailedPrecondition or InvalidArgument
    And the VM "copy" has 3 CPUs and 3072 MiB of memory in every view
    And the VM list shows exactly one VM under the name of "copy"

  @clone @CLONE-019
  Scenario: Repeating the clone of a clone returns that clone and creates nothing new
    As CLONE-012 one generation down: the source of the retried clone is itself a clone.

    Given a VM "source"
    And I clone "source" to "copy"
    And I clone "copy" to "copy2"
    When I send the same clone of "copy" to "copy2" N times
    Then every repetition succeeds
    And every repetition returns the id of "copy2"
    And the VM list shows exactly one VM under the name of "copy2"

  @clone @CLONE-020
  Scenario: A deleted clone's name is free again: cloning to it anew makes a clone that exists
    As CORE-042 for clones: a provider that remembers clones by source and target name must
    forget a clone when it is deleted, or the new clone answers with the id of the one that is
    gone.

    Given a VM "source"
    And I clone "source" to "copy"
    When I delete the VM "copy"
    And I clone "source" to "copy"
    Then the VM "copy" exists
    And the VM list shows exactly one VM under the name of "copy"

  @clone @CLONE-021
  Scenario: Powering the source off leaves a running clone On
    The clone is independent (CLONE-006/007 for hardware and deletion); the same goes for power.

    Given a running VM "source"
    And I clone "source" to "copy"
    And I power the VM "copy" on
    When I power the VM "source" off
    Then the VM "copy" is On in every view
    And the VM "source" is Off in every view

  @clone @CLONE-022
  Scenario: Cloning a stopped VM makes a clone of its size and leaves it Off
    A stopped VM (a template, a VM the manager holds Off) is the most common source of a
    clone. A provider that can only copy running disks refuses it or starts the source.

    Given a VM "source" with 3 CPUs and 3072 MiB of memory
    And I power the VM "source" off
    When I clone "source" to "copy"
    Then the VM "copy" has 3 CPUs and 3072 MiB of memory in every view
    And the VM "source" is Off in every view

  @clone @CLONE-023 @needs-clone-override @needs-raw-payload
  Scenario Outline: A decimal memory size that is no whole number of MiB is rounded to a neighbour, or refused
    A quantity such as 4G (4000000000 bytes, 3814.7 MiB) has no exact size in MiB: a provider
    rounds it down or up, or refuses it as invalid and makes no clone. Reading G as Gi (4096
    MiB) or M as MB of 1000000 bytes counted as MiB (4000) makes a clone of another size.

    Given a VM "source" with 2 CPUs and 2048 MiB of memory
    When I try to clone "source" to "copy" with the class JSON '<class>'
    Then the provider answers OK and the VM "copy" has 2 CPUs and <low> or <high> MiB of memory in every view, or answers InvalidArgument and makes no clone

    Examples:
      | class                      | low  | high |
      | {"cpu":2,"memory":"4G"}    | 3814 | 3815 |
      | {"cpu":2,"memory":"3000M"} | 2861 | 2862 |
