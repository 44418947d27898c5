# Requirement IDs are stable: an ID names one rule forever. A rule that is dropped keeps its ID
# listed below, and the ID is never reassigned.
# Retired IDs: none
Feature: Core profile
  Every provider must pass the core profile: it reports its capabilities, runs the VM lifecycle
  (create, describe, list, power, reconfigure, delete), gives client mistakes a precise gRPC code,
  tolerates repeated and concurrent calls, finishes its tasks and survives bad requests.

  N is the configured idempotency count (default 3); P is the configured number of parallel
  creates (default 8). "Every view" means Describe and the VM list: a view that reports a value
  must report the value that was written, and at least one view must report it (the power
  state: Describe). "I reconfigure the VM": a provider that does not advertise online
  reconfigure may refuse to change a running VM with FailedPrecondition; the suite then does
  what a client does: it stops the VM, asks again and starts the VM.

  @core @CORE-001
  Scenario: The provider reports its capabilities, the same ones every time
    The runner selects the snapshot and clone profiles from this answer, so it must be stable.

    When I ask the provider for its capabilities
    Then the provider reports the same capabilities when asked again

  @core @CORE-002 @needs-validate
  Scenario: A healthy provider validates its configuration as ok, every time it is asked
    When I ask the provider to validate its configuration
    Then the provider reports its configuration as ok
    And the provider reports its configuration as ok when asked again

  @core @CORE-003
  Scenario: Creating a VM with a name and a class returns a non-empty id
    When I create a VM with 2 CPUs and 2048 MiB of memory
    Then the provider returns a non-empty VM id

  @core @CORE-004
  Scenario: A created VM exists for Describe right after the create finished
    Given a VM
    Then the VM exists

  @core @CORE-005
  Scenario: A created VM is listed with its id under its requested name
    Given a VM
    Then the VM list shows the VM under its name

  @core @CORE-006 @needs-list-hardware
  Scenario: The VM list shows the CPU and memory a VM was created with
    A provider that reads other keys than the producer's (for example cpus or memory) silently
    creates the wrong hardware: that is a failure.

    When I create a VM with 3 CPUs and 3072 MiB of memory
    Then the VM list shows the VM with 3 CPUs and 3072 MiB of memory

  @core @CORE-007
  Scenario Outline: Every view that reports hardware shows the CPU and memory a VM was created with
    At least one view must report CPU and memory, and no view may contradict another. A size
    that is no whole number of GiB is kept as asked, not rounded.

    When I create a VM with <cpu> CPUs and <memory> MiB of memory
    Then the VM has <cpu> CPUs and <memory> MiB of memory in every view

    Examples:
      | cpu | memory |
      | 3   | 3072   |
      | 1   | 1536   |

  @core @CORE-008 @needs-raw-payload
  Scenario: Create reads CPU and memory from the producer's class JSON
    VirtRigaud's manager sends the class with Go field-name keys and no JSON tags.

    When I create a VM with the class JSON:
      """
      {"CPU":3,"MemoryMiB":3072}
      """
    Then the VM has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-009
  Scenario: A new VM reports a power state the manager understands, the same in every view
    The manager understands On and Off.

    Given a VM
    Then the VM is On or Off in every view

  @core @CORE-010
  Scenario: Create is idempotent by name: repeating it returns the same id and creates nothing new
    Given a VM
    When I send the same create request N times
    Then every repetition succeeds
    And every repetition returns the VM's id
    And the VM list shows exactly one VM under the VM's name

  @core @CORE-011
  Scenario: Identical creates racing each other yield one VM
    The manager retries creates; two retries may overlap.

    When P identical create requests race each other
    Then every repetition succeeds
    And every repetition returns the VM's id
    And the VM list shows exactly one VM under the VM's name

  @core @CORE-012
  Scenario: Concurrent creates of distinct VMs all succeed and all appear in the VM list
    When I create P VMs with distinct names in parallel
    Then every create returns its own VM id
    And the VM list shows all of them under their names

  @core @CORE-013
  Scenario: Create without a name is rejected as invalid
    When I try to create a VM without a name
    Then the provider answers InvalidArgument

  @core @CORE-014 @needs-raw-payload
  Scenario Outline: Create with malformed class JSON is rejected as invalid
    The producer's CPU is a 32-bit integer: a larger number or a fraction is no CPU count it
    can send, and a provider that truncates it creates a VM with another CPU count than asked for.

    When I try to create a VM with the class JSON '<class>'
    Then the provider answers InvalidArgument

    Examples:
      | class                              |
      | {"CPU":2,"MemoryMiB":              |
      | not json                           |
      | {"CPU":"two","MemoryMiB":2048}     |
      | [2,2048]                           |
      | {"CPU":2,"MemoryMiB":2048}}        |
      | {"CPU":4294967298,"MemoryMiB":2048} |
      | {"CPU":2.5,"MemoryMiB":2048}        |

  @core @CORE-015
  Scenario Outline: Create with a non-positive CPU count or memory size is rejected as invalid
    A refused create makes nothing: a provider that clones its template before it checks the
    size leaves a half-made VM that a corrected retry would then return. Neither CPU nor memory
    is a request without any size (the tutorial API: without a VMSpec), not one for defaults.

    When I try to create a VM with <cpu> CPUs and <memory> MiB of memory
    Then the provider answers InvalidArgument
    And the VM list shows no VM under the name the refused create asked for

    Examples:
      | cpu | memory |
      | 0   | 2048   |
      | -1  | 2048   |
      | 2   | 0      |
      | 2   | -512   |
      | 0   | 0      |

  @core @CORE-016 @needs-describe-exists
  Scenario: Describe of an unknown VM answers that it does not exist, without an error
    The manager relies on exists=false to notice that a VM disappeared.

    When I describe a VM with an unknown id
    Then the provider answers that the VM does not exist

  @core @CORE-017
  Scenario Outline: Every call that takes a VM id rejects an empty id as invalid
    When I try to <action> a VM with an empty id
    Then the provider answers InvalidArgument

    Examples:
      | action      |
      | describe    |
      | power on    |
      | power off   |
      | reconfigure |
      | delete      |

  @core @CORE-018
  Scenario: Powering a VM on leaves it On in every view
    Given a stopped VM
    When I power the VM on
    Then the VM is On in every view

  @core @CORE-019
  Scenario: Powering a VM off leaves it Off in every view
    Given a running VM
    When I power the VM off
    Then the VM is Off in every view

  @core @CORE-020
  Scenario: Rebooting a running VM leaves it On
    Given a running VM
    When I reboot the VM
    Then the VM is On in every view

  @core @CORE-021 @needs-graceful-shutdown
  Scenario: A graceful shutdown leaves a running VM Off
    Given a running VM
    When I shut the VM down gracefully
    Then the VM is Off in every view

  @core @CORE-022
  Scenario Outline: A power operation outside the defined ones is rejected as invalid and changes nothing
    Given a running VM
    When I try to power the VM with operation <op>
    Then the provider answers InvalidArgument
    And the VM is On in every view

    Examples:
      | op | meaning      |
      | 0  | unspecified  |
      | 99 | out of range |
      | -1 | negative     |

  @core @CORE-023
  Scenario Outline: Power and reconfigure of an unknown VM answer NotFound
    When I try to <action> a VM with an unknown id
    Then the provider answers NotFound

    Examples:
      | action      |
      | power on    |
      | power off   |
      | reboot      |
      | reconfigure |

  @core @CORE-024
  Scenario Outline: Repeating a power operation is safe and keeps the requested state
    Given a <initial> VM
    When I send the power <op> request N times
    Then every repetition succeeds
    And the VM is <final> in every view

    Examples:
      | initial | op     | final |
      | stopped | on     | On    |
      | running | off    | Off   |
      | running | reboot | On    |

  @core @CORE-025
  Scenario Outline: Reconfigure changes CPU, memory or both, and every view shows the change
    A provider that ignores one of the two (for example it reads cpus instead of CPU) fails here.

    Given a VM with 2 CPUs and 2048 MiB of memory
    When I reconfigure the VM to <cpu> CPUs and <memory> MiB of memory
    Then the VM has <cpu> CPUs and <memory> MiB of memory in every view

    Examples:
      | change      | cpu | memory |
      | CPU only    | 4   | 2048   |
      | memory only | 2   | 4096   |
      | both        | 3   | 3072   |

  @core @CORE-026 @needs-raw-payload
  Scenario: Reconfigure reads CPU and memory from the producer's desired-state JSON
    The manager sends the desired state as a whole create request with Go field-name keys.
    {name}, {image} and {disks} stand for the VM's name and the image and disks it was created
    with, in the create request's shapes (e.g. {"TemplateName":"ubuntu-22.04","URL":""} and
    [{"SizeGiB":10}]; null when no disk was asked for).

    Given a VM with 2 CPUs and 2048 MiB of memory
    When I reconfigure the VM with the desired state JSON:
      """
      {"Name":"{name}","Class":{"CPU":4,"MemoryMiB":8192},"Image":{image},"Disks":{disks}}
      """
    Then the VM has 4 CPUs and 8192 MiB of memory in every view

  @core @CORE-027 @needs-raw-payload
  Scenario Outline: Reconfigure with malformed desired-state JSON is rejected as invalid and changes nothing
    Given a VM with 2 CPUs and 2048 MiB of memory
    When I try to reconfigure the VM with the desired state JSON '<desired>'
    Then the provider answers InvalidArgument
    And the VM has 2 CPUs and 2048 MiB of memory in every view

    Examples:
      | desired                                       |
      | {"Class":{"CPU":4,                            |
      | not json                                      |
      | {"Class":{"CPU":"four"}}                      |
      | {"Class":{"CPU":4,"MemoryMiB":4096}}}         |
      | {"Class":{"CPU":4294967298,"MemoryMiB":2048}} |
      | {"Class":{"CPU":2.5,"MemoryMiB":2048}}        |

  @core @CORE-028
  Scenario: Repeating a reconfigure is safe and keeps the requested hardware
    Given a VM with 2 CPUs and 2048 MiB of memory
    When I send the reconfigure request to 3 CPUs and 3072 MiB of memory N times
    Then every repetition succeeds
    And the VM has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-029
  Scenario: Deleting a VM removes it from every view
    Given a VM
    When I delete the VM
    Then the VM no longer exists in any view

  @core @CORE-030
  Scenario: Deleting an unknown VM succeeds
    Like CSI's DeleteVolume, delete is idempotent: the manager retries deletes.

    When I try to delete a VM with an unknown id
    Then the provider answers OK

  @core @CORE-031
  Scenario: Repeating a delete is safe
    Given a VM
    When I send the delete request N times
    Then every repetition succeeds
    And the VM no longer exists in any view

  @core @CORE-032
  Scenario: Deleting a VM leaves other VMs as they were
    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And a VM "b" with 3 CPUs and 3072 MiB of memory
    When I delete the VM "a"
    Then the VM "a" no longer exists in any view
    And the VM "b" has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-033 @needs-tasks
  Scenario: Every task a lifecycle call returns completes without error within the task timeout
    A missing task reference, or one with an empty id, means the call finished synchronously.

    Given a VM
    When I power the VM on
    And I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I power the VM off
    And I delete the VM
    Then every task the provider returned completed with done and an empty error

  @core @CORE-034 @needs-tasks
  Scenario: The status of an unknown task is NotFound
    When I try to get the status of an unknown task
    Then the provider answers NotFound

  @core @CORE-035 @needs-tasks
  Scenario Outline: Asking for the status of no task is rejected as invalid
    When I try to get the status of <task>
    Then the provider answers InvalidArgument

    Examples:
      | task                    |
      | no task reference       |
      | a task with an empty id |

  @core @CORE-036
  Scenario: The provider stays responsive after bad requests
    A provider that panics or deadlocks on a bad request blocks every later call. After each bad
    request, Describe, the VM list and a power request must still answer within the call timeout.
    Requests the dialect cannot express are left out.

    Given a VM
    When I send these bad requests one after another:
      | request                                  |
      | create without a name                    |
      | create with 0 CPUs                       |
      | create with malformed class JSON         |
      | describe an empty id                     |
      | power with operation 99                  |
      | power an unknown VM                      |
      | reconfigure an unknown VM                |
      | reconfigure with malformed desired JSON  |
      | delete an empty id                       |
      | get the status of an unknown task        |
      | get the status of no task reference      |
    Then after each of them the provider still answered within the call timeout

  @core @CORE-037
  Scenario Outline: Capabilities are honest: an operation works exactly when it is advertised
    An operation the provider does not offer answers Unimplemented; an advertised one works. The v1
    protocol has no capability field for clones: the suite asks as the clone profile describes
    (Clone requests that cannot create anything; Unimplemented means clones are not offered).
    The core operations are offered by every provider: each works, and where the capabilities
    name them (the tutorial API's vm.create, vm.read, vm.update, vm.power, vm.delete) they are
    listed as supported. v1 has no flags for them.

    Given a VM
    When I try to <operation> the VM
    Then the answer matches the advertised <capability> capability

    Examples:
      | operation                   | capability |
      | take a snapshot of          | snapshot   |
      | clone                       | clone      |
      | send the create request for | create     |
      | describe                    | read       |
      | reconfigure                 | update     |
      | power off                   | power      |
      | delete                      | delete     |

  @core @CORE-038
  Scenario Outline: Reconfigure to a non-positive CPU count or memory size is rejected as invalid and changes nothing
    A provider that reads 0 as "keep the current value" answers OK to a request it did not carry
    out; the manager then believes the VM has the size it asked for. A refused request changes
    nothing, not even the valid half of it. Neither CPU nor memory is a request without any size
    (the tutorial API: without a VMSpec).

    Given a VM with 2 CPUs and 2048 MiB of memory
    When I try to reconfigure the VM to <cpu> CPUs and <memory> MiB of memory
    Then the provider answers InvalidArgument
    And the VM has 2 CPUs and 2048 MiB of memory in every view

    Examples:
      | cpu | memory |
      | 0   | 2048   |
      | -1  | 2048   |
      | 2   | 0      |
      | 2   | -512   |
      | 4   | 0      |
      | 0   | 4096   |
      | 0   | 0      |

  @core @CORE-039
  Scenario: Reconfiguring a running VM leaves it On when the provider reconfigures online
    A provider that advertises online reconfigure (v1: supports_reconfigure_online; the tutorial
    API has no such flag) must keep the VM On. Real hypervisors may need a power-off to change
    CPUs, so any other provider may leave the VM On or Off, or refuse the change while the VM
    runs (FailedPrecondition: the suite stops the VM, asks again and starts it), but it must
    say so in every view alike, and the new hardware must be visible either way.

    Given a running VM
    When I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    Then the VM is On in every view if the provider advertises online reconfigure, else On or Off
    And the VM has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-040
  Scenario Outline: An id is opaque: a path-like variant of a VM's id reaches no VM
    A provider that builds file names or API paths from ids must not resolve a client's id as a
    path. The variant is an id the provider never issued, so it is unknown or malformed (whichever
    the provider decides), and the VM it resembles stays as it was. {id} stands for the VM's id,
    {nul} for a NUL byte.

    Given a VM
    When I describe the VM by the id "<variant>"
    Then the provider answers that no VM has that id, or InvalidArgument
    When I try to delete the VM by the id "<variant>"
    Then the provider answers OK or InvalidArgument
    And the VM exists

    Examples:
      | variant    |
      | ./{id}     |
      | x/../{id}  |
      | {id}{nul}  |

  @core @CORE-041
  Scenario: Repeating a create leaves the existing VM as it is: a stopped VM stays Off
    A repeated create is the manager retrying, not a request to start the VM again.

    Given a stopped VM
    When I send the same create request N times
    Then every repetition succeeds
    And every repetition returns the VM's id
    And the VM is Off in every view

  @core @CORE-042
  Scenario: A deleted VM's name is free again: creating it anew makes a VM that exists
    A provider that keeps a name index must drop the name with the VM, or the new create
    answers with the id of the VM that is gone.

    Given a VM
    When I delete the VM
    And I create the VM again under the same name
    Then the VM exists
    And the VM list shows exactly one VM under the VM's name

  @core @CORE-043
  Scenario: Reconfiguring a stopped VM leaves it Off
    Given a stopped VM
    When I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    Then the VM is Off in every view
    And the VM has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-044 @needs-graceful-shutdown
  Scenario: A graceful shutdown of an unknown VM answers NotFound
    When I try to shut down gracefully a VM with an unknown id
    Then the provider answers NotFound

  @core @CORE-045 @needs-graceful-shutdown
  Scenario: Repeating a graceful shutdown is safe and leaves the VM Off
    The manager repeats a shutdown it got no answer to; the VM is already Off the second time.

    Given a running VM
    When I send the power graceful shutdown request N times
    Then every repetition succeeds
    And the VM is Off in every view

  @core @CORE-046 @needs-variants
  Scenario Outline: Capabilities are honest about memory snapshots and linked clones
    The v1 capabilities say whether a snapshot may include the VM's memory
    (supports_memory_snapshots, with supports_snapshots) and whether a clone may be linked
    (supports_linked_clones, with clones offered). An advertised variant works. One that is not
    advertised answers Unimplemented, or the provider does the plain operation instead (a
    snapshot without the memory, a full clone): both leave the manager with what it can use.

    Given a VM
    When I try to <operation> the VM
    Then the answer matches the advertised <capability> variant

    Examples:
      | operation                 | capability      |
      | take a memory snapshot of | memory-snapshot |
      | make a linked clone of    | linked-clone    |

  @core @CORE-047 @needs-raw-payload
  Scenario Outline: Create reads CPU and memory from a class that carries more than CPU and memory
    The manager's class is a whole Go struct without JSON tags: besides CPU and MemoryMiB it
    carries fields a provider may not use (firmware, extra configuration, ...), and later
    revisions add more. A provider reads what it knows and leaves the rest, as proto3 does
    with unknown fields; refusing them would refuse the manager.

    When I create a VM with the class JSON '<class>'
    Then the VM has 3 CPUs and 3072 MiB of memory in every view

    Examples:
      | class                                                                        |
      | {"CPU":3,"MemoryMiB":3072,"Firmware":"UEFI"}                                 |
      | {"CPU":3,"MemoryMiB":3072,"ExtraConfig":{"guestinfo.role":"web"},"Tags":null} |

  @core @CORE-048 @needs-variants
  Scenario Outline: An advertised image import, disk export or disk import is implemented
    GetCapabilities may advertise supports_image_import, supports_disk_export and
    supports_disk_import. The suite sends the call an empty request, which cannot start
    anything: a provider that has the call refuses it (InvalidArgument); Unimplemented means
    the advertised call does not exist. A call that is not advertised may answer anything.

    When I send <call> an empty request
    Then the answer is not Unimplemented if the provider advertises <capability>

    Examples:
      | call         | capability            |
      | ImagePrepare | supports_image_import |
      | ExportDisk   | supports_disk_export  |
      | ImportDisk   | supports_disk_import  |

  @core @CORE-049
  Scenario: Rebooting a stopped VM starts it, or is refused and leaves it Off
    A reboot ends with the VM On. Real hypervisors refuse to reboot a VM that is not running:
    FailedPrecondition (or InvalidArgument, Unimplemented), or a task that ends with an error.
    Answering OK and leaving the VM Off tells the manager it runs.

    Given a stopped VM
    When I try to reboot the VM
    Then the provider answers OK and the VM is On in every view, or refuses it and the VM is Off in every view

  @core @CORE-050 @needs-raw-payload
  Scenario: A reconfigure sent to an unknown id answers NotFound, even when its desired state names an existing VM
    The id says which VM to change. A provider that falls back to the name in the desired
    state changes a VM the manager did not address.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    When I try to reconfigure a VM with an unknown id to the desired state of "a" with 4 CPUs and 4096 MiB of memory
    Then the provider answers NotFound
    And the VM "a" has 2 CPUs and 2048 MiB of memory in every view

  @core @CORE-051
  Scenario: A VM name of 63 characters is kept whole
    VM names come from Kubernetes objects; 63 characters is the longest DNS label, which every
    provider can hold. A name cut short no longer matches the VM the manager asked for.

    When I create a VM with a name of 63 characters
    Then the VM exists
    And the VM list shows the VM under its name

  @core @CORE-052 @needs-health
  Scenario Outline: The provider serves the gRPC health service as SERVING
    Providers serve grpc.health.v1.Health and answer SERVING for the whole server ("") and for
    the service "provider"; Kubernetes probes and the manager ask it.

    When I ask the gRPC health service about "<service>"
    Then it answers SERVING

    Examples:
      | service  |
      |          |
      | provider |

  @core @CORE-053
  Scenario: The VM list shows every VM, however many there are
    ListVMs has no paging: a provider that answers with a first page only (a cap, a default
    page size of the hypervisor API) hides VMs from the manager. L is the configured number of
    VMs (default 60) the suite holds at once.

    When I create L VMs with distinct names
    Then the VM list shows all of them under their names

  @core @CORE-054
  Scenario: Reconfiguring a stopped VM to fewer CPUs and less memory shows the change
    Every other reconfigure grows a VM; a provider that only ever adds (hot-add code used for
    every change) answers OK to a shrink it never makes. A stopped VM can shrink on every
    hypervisor.

    Given a VM with 4 CPUs and 4096 MiB of memory
    And I power the VM off
    When I reconfigure the VM to 2 CPUs and 2048 MiB of memory
    Then the VM has 2 CPUs and 2048 MiB of memory in every view
    And the VM is Off in every view

  @core @CORE-055
  Scenario: Reconfiguring a running VM to fewer CPUs and less memory shows the change, or is refused
    Hypervisors rarely remove CPUs or memory from a running guest. Refusing (FailedPrecondition,
    InvalidArgument, Unimplemented, or a task that ends with an error) or stopping the VM for the
    change are honest; answering OK and keeping the old size is not.

    Given a VM with 4 CPUs and 4096 MiB of memory
    And I power the VM on
    When I try to reconfigure the VM to 2 CPUs and 2048 MiB of memory
    Then the provider answers OK and the VM has 2 CPUs and 2048 MiB of memory in every view, or refuses it and the VM has 4 CPUs and 4096 MiB of memory in every view


  @core @CORE-056
  Scenario: Concurrent reconfigures of distinct VMs all take effect
    The manager reconciles many VMs at once. A provider that rewrites its whole inventory, or
    a shared record, from a copy read before the change loses the changes made in between:
    every call answers OK, and some VMs keep their old size. The VMs are stopped, so that any
    size can be set (a running VM may take memory only in blocks: CORE-062).

    Given P stopped VMs with distinct names
    When I reconfigure them in parallel, each to a size of its own
    Then every call in parallel succeeds
    And each of them has its own size in every view

  @core @CORE-057
  Scenario: Concurrent power changes of distinct VMs all take effect
    As with reconfigures: power changes the manager sends to many VMs at once must each land.
    The VMs are powered off, then on, so that each step changes every VM whatever state a new
    VM starts in.

    Given P VMs with distinct names
    When I power them off in parallel
    Then every call in parallel succeeds
    And each of them is Off in every view
    When I power them on in parallel
    Then every call in parallel succeeds
    And each of them is On in every view

  @core @CORE-058
  Scenario: Deleting a VM leaves a VM whose name begins with its name
    A provider that finds the VM to delete by a name pattern (web*, as inventory finders and
    grep do) also deletes "web-2" when asked to delete "web".

    Given a VM "web" with 2 CPUs and 2048 MiB of memory
    And a VM "web-2" with 3 CPUs and 3072 MiB of memory
    When I delete the VM "web"
    Then the VM "web" no longer exists in any view
    And the VM "web-2" has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-059
  Scenario: Reconfiguring a VM leaves another VM created alike as it was
    VMs created with the same class must not share one hardware record: a provider that keeps
    one parsed class per class JSON resizes every VM created with it.

    Given a VM "a" with 2 CPUs and 2048 MiB of memory
    And a VM "b" with 2 CPUs and 2048 MiB of memory
    When I reconfigure the VM "a" to 4 CPUs and 4096 MiB of memory
    Then the VM "a" has 4 CPUs and 4096 MiB of memory in every view
    And the VM "b" has 2 CPUs and 2048 MiB of memory in every view

  @core @CORE-060
  Scenario: Deleting a VM by an id the provider never issued succeeds
    Delete is idempotent for every well-formed id, not only for ids the provider remembers
    deleting: the manager also deletes VMs that were removed by hand or lost with a restart.
    The id is derived from the VM's (a fresh UUID for a UUID, a larger number for a number)
    and names no VM; a provider that calls it malformed may answer InvalidArgument.

    Given a VM
    When I try to delete a VM by an id in the VM's format that the provider never issued
    Then the provider answers OK or InvalidArgument
    And the VM exists

  @core @CORE-061
  Scenario: A VM name with a dot is kept whole, or refused as invalid
    Kubernetes object names may hold dots (DNS subdomains); some hypervisors cannot. Refusing
    such a name (InvalidArgument, or a create task that fails) is honest; changing it (a dot
    made a dash) is not: the manager no longer finds its VM by name.

    When I try to create a VM whose name has a dot
    Then the provider answers OK and lists the VM under that very name, or refuses it as InvalidArgument

  @core @CORE-062
  Scenario: Reconfiguring a running VM to a memory size that is no whole number of GiB keeps it as asked, or is refused
    Memory hot-add may work in fixed blocks (DIMMs). Refusing a size the hypervisor cannot add
    is honest; rounding it silently is not.

    Given a VM with 2 CPUs and 2048 MiB of memory
    And I power the VM on
    When I try to reconfigure the VM to 2 CPUs and 3584 MiB of memory
    Then the provider answers OK and the VM has 2 CPUs and 3584 MiB of memory in every view, or refuses it and the VM has 2 CPUs and 2048 MiB of memory in every view

  @core @CORE-063
  Scenario: Once VMs exist, the provider reports the capabilities the run selected its profiles from
    The runner asks before anything exists. A provider that learns what it offers only later
    (a hypervisor session opened on the first create) makes the run skip profiles it offers.

    Given a VM
    When I ask the provider for its capabilities
    Then they are the capabilities the run selected its profiles from

  @core @CORE-064 @needs-raw-payload
  Scenario: Describe's provider_raw_json is JSON
    The wire protocol's *_json fields carry JSON documents. A provider that prints a value of
    its own language there (map[cpu:2 ...]) gives the manager nothing to read.

    Given a VM
    Then Describe's provider_raw_json is a JSON document, or empty

  @core @CORE-065 @needs-tasks
  Scenario: A finished task stays done when asked about again
    The manager may poll a task once more after it saw it finish (a requeue). A provider that
    forgets finished tasks, or reports them running or failed later, turns a success into a
    retry or an error.

    Given a VM
    When I power the VM off
    And I power the VM on
    Then every task the provider returned still reports done with an empty error when asked again

  @core @CORE-066 @needs-variants
  Scenario Outline: An empty request to a disk, image or hardware call is refused
    An empty request names nothing to act on: a provider that has the call refuses it
    (InvalidArgument), one that does not answers Unimplemented. A stub that answers OK tells
    the manager that something was done.

    When I send <call> an empty request
    Then the provider answers InvalidArgument or Unimplemented

    Examples:
      | call            |
      | ImagePrepare    |
      | ExportDisk      |
      | ImportDisk      |
      | HardwareUpgrade |
      | GetDiskInfo     |

  @core @CORE-067 @needs-tasks
  Scenario: Every task names one operation
    The manager keeps the task of the operation it started and polls it, possibly after a
    requeue and after other operations on the same VM. A task id handed out for two different
    operations (the VM's own id, a counter per VM) answers for whichever ran last.

    Given a VM
    When I power the VM off
    And I power the VM on
    And I reboot the VM
    Then no two operations were handed the same task id

  @core @CORE-068 @needs-addresses
  Scenario: Reported IP addresses and console URLs are well-formed
    ips and console_url are optional, but what a provider reports the manager copies into the
    VM's status for people and tools. Every IP address parses as one (IPv4 or IPv6; a zone or
    a prefix length is allowed), in Describe and in the VM list; a console URL is absolute,
    with a host. A provider with nothing to report leaves them empty instead of printing a
    placeholder.

    Given a VM
    Then the addresses and console URL reported for the VM are well-formed

  @core @CORE-069
  Scenario: The capability lists name each thing once
    GetCapabilities lists what a provider offers by name (disk and network types, export and
    import formats, backends, transfer modes; the tutorial API's capability names). An empty
    entry names nothing, and an entry listed twice says the list was not built from what the
    provider has.

    When I ask the provider for its capabilities
    Then every list of names in them holds no empty and no repeated entry

  @core @CORE-070 @needs-tasks
  Scenario: A VM whose delete is under way is still described, not an error
    The manager describes a VM on every requeue until its delete task is done. Describe
    answers OK while the delete runs (exists true while the VM is there, false once it is
    gone) and the VM list answers OK; an error makes the manager fail a delete that succeeds.

    Given a VM
    When I delete the VM without waiting for its task
    Then Describe and ListVMs answer OK while the delete is under way
    And the delete task completes with done and an empty error
    And the VM no longer exists in any view

  @core @CORE-071
  Scenario: A reconfigure of a running VM outlives a power cycle
    A provider that changes only the running guest (hot-plug) and not the VM's stored
    configuration loses the change at the next power-off: the VM comes back at its old size.

    Given a running VM
    When I reconfigure the VM to 3 CPUs and 3072 MiB of memory
    And I power the VM off
    Then the VM has 3 CPUs and 3072 MiB of memory in every view
    When I power the VM on
    Then the VM has 3 CPUs and 3072 MiB of memory in every view

  @core @CORE-072 @needs-tasks
  Scenario: A VM being rebooted still exists in every view
    The manager describes a VM while its reboot task runs. A provider that reports the VM as
    gone while the guest restarts (the domain is briefly undefined) makes the manager create
    it again.

    Given a running VM
    When I reboot the VM without waiting for its task
    Then the VM exists in every view while the reboot is under way
    And the reboot task completes with done and an empty error
    And the VM is On in every view

  @core @CORE-073
  Scenario: A VM of 16 CPUs is created as asked, or refused
    The suite's other VMs have at most 4 CPUs. A provider that caps the CPU count at what its
    host has (or at a licence limit) must refuse a larger one, not create a smaller VM than
    asked for: InvalidArgument, FailedPrecondition, ResourceExhausted, OutOfRange or a task
    that ends with an error are refusals, and a refused create makes nothing.

    When I try to create a VM with 16 CPUs and 2048 MiB of memory
    Then the provider answers OK and the new VM has 16 CPUs and 2048 MiB of memory in every view, or refuses it and makes no VM
