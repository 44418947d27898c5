package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/steps/driver"
)

var negativeSteps = []phrase{
	{`^I try to (describe|power on|power off|reboot|shut down gracefully|reconfigure|delete|take a snapshot of|clone) a VM with (an empty|an unknown) id$`, tryWithID},
	{`^I try to create a VM without a name$`, tryCreateWithoutName},
	{`^I try to create a VM with (-?\d+) CPUs? and (-?\d+) MiB of memory$`, tryCreateWith},
	{`^I try to create a VM with the class JSON '(.*)'$`, tryCreateRaw},
	{`^I try to reconfigure the VM with the desired state JSON '(.*)'$`, tryReconfigureRaw},
	{`^I try to reconfigure the VM to (-?\d+) CPUs? and (-?\d+) MiB of memory$`, tryReconfigureWith},
	{`^I describe a VM with an unknown id$`, describeUnknown},
	{`^I (describe|try to delete) the VM by the id "([^"]*)"$`, byIDVariant},
	{`^the provider answers that no VM has that id, or InvalidArgument$`, answersNoSuchVMOrInvalid},
	{`^the provider answers that the VM does not exist$`, answersDoesNotExist},
	{`^the provider answers (OK|InvalidArgument|NotFound|Unimplemented)$`, providerAnswers},
	{`^the provider answers (OK|InvalidArgument|NotFound|Unimplemented) or (OK|InvalidArgument|NotFound|Unimplemented)$`, providerAnswersEither},
	{`^the provider refuses it as ((?:[A-Za-z]+, )*[A-Za-z]+ or [A-Za-z]+)$`, providerRefusesAs},
	{`^I try to get the status of (an unknown task|no task reference|a task with an empty id)$`, tryTaskStatus},
	{`^every task the provider returned completed with done and an empty error$`, everyTaskCompleted},
	{`^every task the provider returned still reports done with an empty error when asked again$`, everyTaskStillDone},
	{`^no two operations were handed the same task id$`, tasksDistinct},
	{`^I (delete|reboot) the VM without waiting for its task$`, startWithoutWaiting},
	{`^Describe and ListVMs answer OK while the delete is under way$`, answerWhileDeleting},
	{`^the VM exists in every view while the reboot is under way$`, existsWhileRebooting},
	{`^the (delete|reboot) task completes with done and an empty error$`, awaitPending},
	{`^I send these bad requests one after another:$`, sendBadRequests},
	{`^after each of them the provider still answered within the call timeout$`, stillAnswered},
}

// unknownVMID is a well-formed id of a VM that does not exist. Like csi-sanity's IDGenerator
// it comes from the configuration, or else is the id of a VM the suite created and deleted.
// That only works while the provider never hands the id out again; see probeIDs.
func (s *Suite) unknownVMID(ctx context.Context) (string, error) {
	if s.cfg.UnknownVMID != "" {
		// Checked before every use: the rules that take it power, reconfigure and delete it.
		if err := s.CheckUnknownVMID(ctx); err != nil {
			return "", err
		}
		return s.cfg.UnknownVMID, nil
	}
	s.probeIDs(ctx)
	s.unknownMu.Lock()
	defer s.unknownMu.Unlock()
	return s.unknownVM, s.unknownVMFailed
}

// UnknownIDInUseError says that the configured unknown VM id names a VM the provider has.
type UnknownIDInUseError struct{ ID, Name, Seen string }

func (e *UnknownIDInUseError) Error() string {
	name := ""
	if e.Name != "" {
		name = fmt.Sprintf(" (%q)", e.Name)
	}
	return fmt.Sprintf("the configured unknown VM id %q names a VM the provider has%s, seen by %s: the rules that use it "+
		"would power, reconfigure, snapshot, clone and delete that VM; set provider.unknown_vm_id (or --unknown-vm-id) "+
		"to a well-formed id that no VM has", e.ID, name, e.Seen)
}

// CheckUnknownVMID makes sure that the configured unknown VM id (Config.UnknownVMID) is
// unknown: neither Describe nor ListVMs may know it. It returns an *UnknownIDInUseError when
// one does, and nil when no id is configured or the check could not be made (a provider
// error is the rules' to judge). The runner calls it before the first scenario; the steps
// call it again before every use.
func (s *Suite) CheckUnknownVMID(ctx context.Context) error {
	id := s.cfg.UnknownVMID
	if id == "" {
		return nil
	}
	t := s.timeouts()
	var d driver.Description
	err := bounded(ctx, t, func(ctx context.Context) (err error) {
		d, err = s.cfg.Driver.Describe(ctx, id)
		return err
	})
	if err == nil && d.Exists {
		return &UnknownIDInUseError{ID: id, Name: d.Name, Seen: "Describe"}
	}
	var vms []driver.VM
	if bounded(ctx, t, func(ctx context.Context) (err error) {
		vms, err = s.cfg.Driver.List(ctx)
		return err
	}) == nil {
		for _, vm := range vms {
			if vm.ID == id {
				return &UnknownIDInUseError{ID: id, Name: vm.Name, Seen: "ListVMs"}
			}
		}
	}
	return nil
}

// IDReuseError says that the provider gave a new VM the id of one just deleted, as Proxmox
// hands out the lowest free VMID: an id the suite created and deleted is then no safe
// "unknown" id, since the next create may own it.
type IDReuseError struct {
	ID string
	// Proposed is the unknown id the suite derived and the provider did not confirm, and
	// Why says how ("" when the id has no number to derive one from).
	Proposed, Why string
}

func (e *IDReuseError) Error() string {
	tried := ""
	if e.Proposed != "" {
		tried = fmt.Sprintf("; the suite proposed %q, but %s", e.Proposed, e.Why)
	}
	return fmt.Sprintf("the provider reuses VM ids (a new VM got the id %q of a VM deleted just before), so an id "+
		"the suite creates and deletes is no safe unknown id%s: set provider.unknown_vm_id (or --unknown-vm-id) to a well-formed id that "+
		"no VM will ever have", e.ID, tried)
}

// probeIDs runs once per suite: it creates and deletes two VMs in turn. The first one's id is
// the unknown id; the second one tells whether the provider hands a deleted id out again.
func (s *Suite) probeIDs(ctx context.Context) {
	s.unknownMu.Lock()
	defer s.unknownMu.Unlock()
	if s.probed {
		return
	}
	s.probed = true
	t := s.timeouts()
	createDelete := func() (string, error) {
		name := s.own.prefix + randomSuffix(5)
		var id string
		err := bounded(ctx, t, func(ctx context.Context) (err error) {
			id, err = s.cfg.Driver.Create(ctx, name, s.cfg.VMSpec)
			return err
		})
		s.own.addVM(id, name)
		if err == nil && id == "" {
			err = fmt.Errorf("answered OK with an empty id")
		}
		if err != nil {
			return "", fmt.Errorf("obtaining an unknown VM id: %s: %s", createCall(name, s.cfg.VMSpec), answer(err))
		}
		if err := bounded(ctx, t, func(ctx context.Context) error { return s.cfg.Driver.Delete(ctx, id) }); err != nil {
			return "", fmt.Errorf("obtaining an unknown VM id: Delete(id=%q): %s", id, answer(err))
		}
		s.own.vmDeleted(id)
		return id, nil
	}
	first, err := createDelete()
	if err != nil {
		s.unknownVMFailed = err
		return
	}
	second, err := createDelete()
	if err != nil {
		s.unknownVMFailed = err
		return
	}
	if second == first {
		s.idsReused = true
		if s.cfg.UnknownVMID != "" {
			return // the configured id is used
		}
		id, why := s.numericUnknownID(ctx, first)
		if why == "" {
			s.unknownVM, s.unknownVMDerived = id, true
			return
		}
		s.unknownVMFailed = &IDReuseError{ID: first, Proposed: id, Why: why}
		return
	}
	s.unknownVM = first
}

// farNumericID is the unknown id the suite proposes to a provider that reuses numeric ids:
// the largest Proxmox VMID, far above the low ids such providers hand out first.
const farNumericID = 999_999_999

// numericUnknownID proposes a well-formed unknown id to a provider that hands out the lowest
// free number (as Proxmox does): when its ids hold a decimal number ("101", "vm-0042"), the
// same id with a number far above the one it handed out is in its format and will not be
// handed out during a run. It is used only when the provider itself confirms it: no VM has
// it, neither for Describe nor in ListVMs. why is empty when the id is confirmed; otherwise
// it says why not (id is empty when there was nothing to propose).
func (s *Suite) numericUnknownID(ctx context.Context, seen string) (id, why string) {
	start, end, ok := lastNumber(seen)
	if !ok {
		return "", "no number in the id to derive another from"
	}
	digits := seen[start:end]
	n, err := strconv.ParseUint(digits, 10, 63)
	if err != nil || n > math.MaxInt64/1000 {
		return "", "its number is too large to derive another from"
	}
	c := uint64(farNumericID)
	if n >= c/1000 {
		c = n * 1000
	}
	num := strconv.FormatUint(c, 10)
	if len(num) < len(digits) { // keep zero-padded ids as wide as they were
		num = strings.Repeat("0", len(digits)-len(num)) + num
	}
	id = seen[:start] + num + seen[end:]
	t := s.timeouts()
	var d driver.Description
	err = bounded(ctx, t, func(ctx context.Context) (err error) {
		d, err = s.cfg.Driver.Describe(ctx, id)
		return err
	})
	switch {
	case err != nil && status.Code(err) != codes.NotFound:
		return id, fmt.Sprintf("Describe(id=%q) answered %s", id, answer(err))
	case err == nil && d.Exists:
		return id, fmt.Sprintf("Describe(id=%q) says a VM has it", id)
	}
	var vms []driver.VM
	if err := bounded(ctx, t, func(ctx context.Context) (err error) {
		vms, err = s.cfg.Driver.List(ctx)
		return err
	}); err != nil {
		return id, fmt.Sprintf("ListVMs answered %s", answer(err))
	}
	for _, vm := range vms {
		if vm.ID == id {
			return id, "ListVMs lists a VM with it"
		}
	}
	return id, ""
}

// DerivedUnknownVMID is the unknown VM id the suite proposed and the provider confirmed
// (see numericUnknownID), or "" when the id came from the configuration or from a VM the
// suite created and deleted.
func (s *Suite) DerivedUnknownVMID() string {
	s.unknownMu.Lock()
	defer s.unknownMu.Unlock()
	if !s.unknownVMDerived {
		return ""
	}
	return s.unknownVM
}

// Prepare runs, before any scenario, what the scenarios would otherwise do lazily and
// concurrently: it obtains the unknown VM id and finds out whether the provider reuses the
// ids of deleted VMs. When it does, scenarios must not run concurrently: one scenario's
// repeated delete would hit the VM another scenario just created under the same id.
func (s *Suite) Prepare(ctx context.Context) (idsReused bool) {
	s.probeIDs(ctx)
	s.unknownMu.Lock()
	defer s.unknownMu.Unlock()
	return s.idsReused
}

func idsReused(err error) bool {
	var reuse *IDReuseError
	return errors.As(err, &reuse)
}

// noUnknownID ends a step that needed an unknown VM id and got none: a provider that reuses
// ids without a configured unknown id skips the requirement (the suite cannot test it
// safely); any other reason is a failure.
func (st *scenario) noUnknownID(err error) error {
	if idsReused(err) {
		st.skip = err.Error()
		return godog.ErrSkip
	}
	return st.failf("%v", err)
}

func tryWithID(ctx context.Context, action, which string) error {
	st := current(ctx)
	id := ""
	if which == "an unknown" {
		var err error
		if id, err = st.s.unknownVMID(ctx); err != nil {
			return st.noUnknownID(err)
		}
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	var a attempt
	switch action {
	case "describe":
		_, err := st.d.Describe(octx, id)
		a = attempt{call: fmt.Sprintf("Describe(id=%q)", id), err: err}
	case "power on":
		a = attempt{call: powerCall(id, driver.PowerOn), err: st.d.Power(octx, id, driver.PowerOn)}
	case "power off":
		a = attempt{call: powerCall(id, driver.PowerOff), err: st.d.Power(octx, id, driver.PowerOff)}
	case "reboot":
		a = attempt{call: powerCall(id, driver.PowerReboot), err: st.d.Power(octx, id, driver.PowerReboot)}
	case "shut down gracefully":
		a = attempt{call: powerCall(id, driver.PowerShutdownGraceful), err: st.d.Power(octx, id, driver.PowerShutdownGraceful)}
	case "reconfigure":
		name := st.vmName("unknown")
		a = attempt{call: st.reconfigureCall(id, name, st.s.cfg.VMSpec), err: st.d.Reconfigure(octx, id, name, st.s.cfg.VMSpec)}
	case "delete":
		a = attempt{call: fmt.Sprintf("Delete(id=%q)", id), err: st.d.Delete(octx, id)}
	case "take a snapshot of":
		snap, err := st.d.SnapshotCreate(octx, id, st.vmName("snap"))
		st.res.addSnapshot(id, snap)
		a = attempt{call: fmt.Sprintf("SnapshotCreate(vm_id=%q)", id), err: err, id: snap}
	case "clone":
		target := st.vmName("copy")
		clone, err := st.d.Clone(octx, id, target, nil)
		st.res.addVM(clone, target)
		a = attempt{call: fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q)", id, target), err: err, id: clone}
	}
	if which == "an unknown" {
		a.hint = st.configuredIDRefused(id, a.err)
	}
	st.last = &a
	return nil
}

func tryCreateWithoutName(ctx context.Context) error {
	st := current(ctx)
	a := st.create(ctx, "", st.s.cfg.VMSpec)
	st.last = &a
	return nil
}

func tryCreateWith(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	a := st.create(ctx, st.vmName("vm"), st.spec(cpu, memory))
	st.last = &a
	return nil
}

func tryCreateRaw(ctx context.Context, class string) error {
	st := current(ctx)
	raw, err := st.rawPayloads()
	if err != nil {
		return err
	}
	name := st.vmName("vm")
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := raw.CreateRaw(octx, name, st.s.cfg.VMSpec, class)
	st.res.addVM(id, name)
	st.last = &attempt{call: fmt.Sprintf("Create(name=%q, class_json=%s)", name, class), err: err, id: id}
	return nil
}

func tryReconfigureWith(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	a, _ := st.reconfigure(ctx, ref, cpu, memory)
	st.last = &a
	return nil
}

func tryReconfigureRaw(ctx context.Context, desired string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	raw, err := st.rawPayloads()
	if err != nil {
		return err
	}
	desired, err = expandDesired(desired, raw.DesiredJSON(ref.name, ref.spec))
	if err != nil {
		return st.failf("%v", err)
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	err = raw.ReconfigureRaw(octx, ref.id, desired)
	st.last = &attempt{call: fmt.Sprintf("Reconfigure(id=%q, desired_json=%s)", ref.id, desired), err: err}
	return nil
}

// expandDesired fills the placeholders of a desired state written in a feature: {name},
// {image} and {disks} stand for the VM's name, image and disks as the driver's own desired
// state for the VM (whole) carries them.
func expandDesired(desired, whole string) (string, error) {
	if !strings.Contains(desired, "{name}") && !strings.Contains(desired, "{image}") && !strings.Contains(desired, "{disks}") {
		return desired, nil
	}
	var fields struct {
		Name  string
		Image json.RawMessage
		Disks json.RawMessage
	}
	if err := json.Unmarshal([]byte(whole), &fields); err != nil {
		return "", fmt.Errorf("the driver's desired state is not JSON: %w", err)
	}
	name, _ := json.Marshal(fields.Name)
	return strings.NewReplacer(
		`"{name}"`, string(name),
		"{image}", orNull(fields.Image),
		"{disks}", orNull(fields.Disks),
	).Replace(desired), nil
}

func orNull(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	return string(v)
}

func describeUnknown(ctx context.Context) error {
	st := current(ctx)
	id, err := st.s.unknownVMID(ctx)
	if err != nil {
		return st.noUnknownID(err)
	}
	rctx, cancel := st.read(ctx)
	defer cancel()
	d, err := st.d.Describe(rctx, id)
	st.last = &attempt{call: fmt.Sprintf("Describe(id=%q)", id), err: err, exists: d.Exists, hint: st.configuredIDRefused(id, err)}
	return nil
}

// configuredIDRefused explains an InvalidArgument answer to the configured unknown VM id:
// most likely the id is not in the provider's format, which the configuration can fix.
func (st *scenario) configuredIDRefused(id string, err error) string {
	if id == "" || id != st.s.cfg.UnknownVMID || status.Code(err) != codes.InvalidArgument {
		return ""
	}
	return "this id is the configured provider.unknown_vm_id (--unknown-vm-id), which the provider calls malformed: " +
		"is it in the provider's own id format?"
}

// idVariant spells out a variant of id: {id} stands for the id, {nul} for a NUL byte.
func idVariant(variant, id string) string {
	return strings.NewReplacer("{id}", id, "{nul}", "\x00").Replace(variant)
}

// byIDVariant sends a Describe or a Delete with a path-like variant of the VM's id.
func byIDVariant(ctx context.Context, action, variant string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	id := idVariant(variant, ref.id)
	if action == "describe" {
		rctx, cancel := st.read(ctx)
		defer cancel()
		d, err := st.d.Describe(rctx, id)
		st.last = &attempt{call: fmt.Sprintf("Describe(id=%q)", id), err: err, exists: d.Exists}
		return nil
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	st.last = &attempt{call: fmt.Sprintf("Delete(id=%q)", id), err: st.d.Delete(octx, id)}
	return nil
}

// answersNoSuchVMOrInvalid accepts what a provider may answer for an id it never issued: that
// no VM has it (v1: OK with exists=false; a dialect without the flag: NotFound), or that it is
// malformed (InvalidArgument).
func answersNoSuchVMOrInvalid(ctx context.Context) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	existsFlag, _ := st.d.Supports(driver.FeatureDescribeExists)
	got, known := codeOf(st.last.err)
	switch {
	case known && got == codes.InvalidArgument:
	case known && got == codes.OK && !st.last.exists:
	case known && got == codes.NotFound && !existsFlag:
	case known && got == codes.OK:
		return st.failf("%s: expected no such VM or InvalidArgument, got exists=true: the id reached a VM it does not name", st.last.call)
	case existsFlag:
		return st.failf("%s: expected OK with exists=false or InvalidArgument, got %s", st.last.call, answer(st.last.err))
	default:
		return st.failf("%s: expected NotFound or InvalidArgument, got %s", st.last.call, answer(st.last.err))
	}
	return st.alive(ctx, st.last.call)
}

func answersDoesNotExist(ctx context.Context) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	switch {
	case st.last.err != nil && st.last.hint != "":
		return st.failf("%s: expected OK with exists=false, got %s (%s)", st.last.call, answer(st.last.err), st.last.hint)
	case st.last.err != nil:
		return st.failf("%s: expected OK with exists=false, got %s", st.last.call, answer(st.last.err))
	case st.last.exists:
		return st.failf("%s: expected OK with exists=false, got exists=true for a deleted VM", st.last.call)
	}
	return st.alive(ctx, st.last.call)
}

// providerAnswers judges the latest attempt, then checks that the provider survived it.
func providerAnswers(ctx context.Context, codeName string) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	want, err := parseCode(codeName)
	if err != nil {
		return err
	}
	if err := st.expectCode(*st.last, want); err != nil {
		return err
	}
	return st.alive(ctx, st.last.call)
}

// providerAnswersEither is for the few requests where the contract allows two answers.
func providerAnswersEither(ctx context.Context, first, second string) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	var want []codes.Code
	for _, name := range []string{first, second} {
		c, err := parseCode(name)
		if err != nil {
			return err
		}
		want = append(want, c)
	}
	if got, ok := codeOf(st.last.err); !ok || (got != want[0] && got != want[1]) {
		if st.last.hint != "" {
			return st.failf("%s: expected %s or %s, got %s (%s)", st.last.call, want[0], want[1], answer(st.last.err), st.last.hint)
		}
		return st.failf("%s: expected %s or %s, got %s", st.last.call, want[0], want[1], answer(st.last.err))
	}
	return st.alive(ctx, st.last.call)
}

// providerRefusesAs checks that the last request got one of the listed error codes
// ("A, B or C").
func providerRefusesAs(ctx context.Context, list string) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	var want []codes.Code
	for _, name := range strings.FieldsFunc(strings.ReplaceAll(list, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' }) {
		c, err := parseCode(name)
		if err != nil {
			return err
		}
		want = append(want, c)
	}
	if got, ok := codeOf(st.last.err); !ok || !slices.Contains(want, got) {
		return st.failf("%s: expected a refusal (%s), got %s", st.last.call, list, answer(st.last.err))
	}
	return st.alive(ctx, st.last.call)
}

func (st *scenario) tasksAPI() (driver.Tasks, error) {
	t, ok := st.d.(driver.Tasks)
	if !ok {
		return nil, st.failf("driver %s reports tasks supported but has no TaskStatus method", st.d.Dialect())
	}
	return t, nil
}

func tryTaskStatus(ctx context.Context, which string) error {
	st := current(ctx)
	t, err := st.tasksAPI()
	if err != nil {
		return err
	}
	rctx, cancel := st.read(ctx)
	defer cancel()
	var a attempt
	switch which {
	case "an unknown task":
		_, err = t.TaskStatus(rctx, st.s.cfg.UnknownTaskID, true)
		a = attempt{call: fmt.Sprintf("TaskStatus(task.id=%q)", st.s.cfg.UnknownTaskID), err: err}
		if st.s.cfg.madeUpTaskID {
			a.hint = "the suite made this id up; if task ids have a format this one breaks, set " +
				"provider.unknown_task_id (or --unknown-task-id) to a well-formed id of a task that does not exist"
			if status.Code(err) == codes.InvalidArgument {
				// Malformed for this provider: as for VM ids, ask again with an id in the
				// provider's own format, derived from a task it handed out.
				derived, from, ok := st.wellFormedUnknownTask(ctx)
				if !ok {
					// No task id to learn the format from (a provider that answers every call
					// synchronously): its own format is unknowable, so "malformed" is an honest
					// answer to an id the suite made up.
					a.accept = []codes.Code{codes.InvalidArgument}
				}
				if ok {
					dctx, dcancel := st.read(ctx)
					_, err = t.TaskStatus(dctx, derived, true)
					dcancel()
					a = attempt{call: fmt.Sprintf("TaskStatus(task.id=%q)", derived), err: err,
						hint: fmt.Sprintf("the made-up id %q was refused as malformed, so the suite derived this one from the provider's "+
							"own task id %q; set provider.unknown_task_id (or --unknown-task-id) to choose another", st.s.cfg.UnknownTaskID, from)}
				}
			}
		}
	case "no task reference":
		_, err = t.TaskStatus(rctx, "", false)
		a = attempt{call: "TaskStatus(task=nil)", err: err}
	case "a task with an empty id":
		_, err = t.TaskStatus(rctx, "", true)
		a = attempt{call: `TaskStatus(task.id="")`, err: err}
	}
	st.last = &a
	return nil
}

// wellFormedUnknownTask derives the id of a task that does not exist from one the provider
// hands out: it creates a VM (cleaned up with the scenario) and, when the create returned a
// task, changes that task's id as unknownTaskLike does. ok is false for a provider that
// answers synchronously (no task id to learn the format from).
func (st *scenario) wellFormedUnknownTask(ctx context.Context) (derived, from string, ok bool) {
	if _, err := st.createVM(ctx, "task-format", st.s.cfg.VMSpec); err != nil {
		return "", "", false
	}
	recs := st.tasks.Records()
	known := map[string]bool{}
	for _, r := range recs {
		known[r.ID] = true
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if id := recs[i].ID; id != "" {
			if d, ok := unknownTaskLike(id); ok && !known[d] {
				return d, id, true
			}
			return "", "", false
		}
	}
	return "", "", false
}

var (
	uuidInID   = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	digitsInID = regexp.MustCompile(`[0-9]+`)
)

// unknownTaskLike keeps the format of a real task id and changes what identifies the task:
// a UUID in it becomes a fresh one (in the same case), otherwise its last number becomes one
// far above it ("task-17" → "task-99999999917"; a Proxmox UPID's VM number likewise).
func unknownTaskLike(id string) (string, bool) {
	if fresh, ok := withFreshUUID(id); ok {
		return fresh, true
	}
	start, _, ok := lastNumber(id)
	if !ok {
		return "", false
	}
	return id[:start] + "999999999" + id[start:], true
}

// withFreshUUID is id with the UUID in it replaced by a fresh one, in the same case; ok is
// false when id holds no UUID.
func withFreshUUID(id string) (string, bool) {
	loc := uuidInID.FindStringIndex(id)
	if loc == nil {
		return "", false
	}
	fresh := uuid.NewString()
	if strings.ToUpper(id[loc[0]:loc[1]]) == id[loc[0]:loc[1]] {
		fresh = strings.ToUpper(fresh)
	}
	return id[:loc[0]] + fresh + id[loc[1]:], true
}

// lastNumber is where the last run of decimal digits in id starts and ends; ok is false when
// id has none.
func lastNumber(id string) (start, end int, ok bool) {
	runs := digitsInID.FindAllStringIndex(id, -1)
	if len(runs) == 0 {
		return 0, 0, false
	}
	last := runs[len(runs)-1]
	return last[0], last[1], true
}

func everyTaskCompleted(ctx context.Context) error {
	st := current(ctx)
	recs := st.tasks.Records()
	if len(recs) == 0 {
		return st.failf("no lifecycle call was observed")
	}
	var f []string
	for _, r := range recs {
		if !r.Done || r.Error != "" {
			f = append(f, fmt.Sprintf("%s: task %q ended with done=%t error=%q after %d polls", r.Call, r.ID, r.Done, r.Error, r.Polls))
		}
	}
	return joinFailures(st, "every task must complete with done and an empty error", f)
}

// everyTaskStillDone asks again about every task the scenario saw finish: the manager may
// poll a task once more (a requeue) and must not read a finished task as running, failed or
// unknown.
func everyTaskStillDone(ctx context.Context) error {
	st := current(ctx)
	t, err := st.tasksAPI()
	if err != nil {
		return err
	}
	var f []string
	asked := 0
	for _, r := range st.tasks.Records() {
		if r.ID == "" || !r.Done || r.Error != "" {
			continue // synchronous, or judged by the step that waited for it
		}
		asked++
		rctx, cancel := st.read(ctx)
		s, err := t.TaskStatus(rctx, r.ID, true)
		cancel()
		switch {
		case err != nil:
			f = append(f, fmt.Sprintf("TaskStatus(task.id=%q) of %s, done before: expected OK, got %s", r.ID, r.Call, answer(err)))
		case !s.Done || s.Error != "":
			f = append(f, fmt.Sprintf("TaskStatus(task.id=%q) of %s, done before: now done=%t error=%q", r.ID, r.Call, s.Done, s.Error))
		}
	}
	if asked == 0 {
		return nil // a provider that answers every call synchronously hands out no task to ask about
	}
	return joinFailures(st, "a finished task must stay done, with an empty error, when asked again", f)
}

// tasksDistinct: the manager keeps the task of the operation it started and may poll it after
// later operations on the same VM; an id handed out twice answers for the wrong operation.
func tasksDistinct(ctx context.Context) error {
	st := current(ctx)
	recs := st.tasks.Records()
	if len(recs) < 2 {
		return st.failf("fewer than two operations were observed")
	}
	first := map[string]string{} // task id → the call it was first handed out for
	var f []string
	for _, r := range recs {
		if r.ID == "" {
			continue // synchronous
		}
		if call, dup := first[r.ID]; dup {
			f = append(f, fmt.Sprintf("%s answered task %q, the task %s answered before", r.Call, r.ID, call))
			continue
		}
		first[r.ID] = r.Call
	}
	return joinFailures(st, "each task must name one operation", f)
}

func startWithoutWaiting(ctx context.Context, what string) error {
	st := current(ctx)
	t, err := st.tasksAPI()
	if err != nil {
		return err
	}
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	var call, task string
	if what == "delete" {
		call = fmt.Sprintf("Delete(id=%q)", ref.id)
		task, err = t.StartDelete(octx, ref.id)
	} else {
		call = powerCall(ref.id, driver.PowerReboot)
		task, err = t.StartPower(octx, ref.id, driver.PowerReboot)
	}
	if err := st.expectOK(call, err); err != nil {
		return err
	}
	st.pending = &pendingTask{ref: ref, what: what, call: call, task: task}
	return nil
}

func (st *scenario) pendingOf(what string) (*pendingTask, error) {
	if st.pending == nil || st.pending.what != what {
		return nil, st.failf("no %s is under way", what)
	}
	return st.pending, nil
}

// answerWhileDeleting: a VM whose delete task runs is described (exists true while it is
// there, false once gone) and listed or not, never answered with an error: the manager
// describes it on every requeue until it is gone.
func answerWhileDeleting(ctx context.Context) error {
	st := current(ctx)
	p, err := st.pendingOf("delete")
	if err != nil {
		return err
	}
	v := st.look(ctx, p.ref)
	var f []string
	if v.descErr != nil {
		f = append(f, fmt.Sprintf("Describe(id=%q) after %s answered task %q: expected OK (exists true or false), got %s",
			p.ref.id, p.call, p.task, answer(v.descErr)))
	}
	if v.listErr != nil {
		f = append(f, fmt.Sprintf("ListVMs after %s answered task %q: expected OK, got %s", p.call, p.task, answer(v.listErr)))
	}
	return joinFailures(st, "a VM being deleted must still be described and listed without an error", f)
}

// existsWhileRebooting: a reboot never makes a VM disappear; the manager would recreate a VM
// it believes gone.
func existsWhileRebooting(ctx context.Context) error {
	st := current(ctx)
	p, err := st.pendingOf("reboot")
	if err != nil {
		return err
	}
	v := st.look(ctx, p.ref)
	f := st.present(p.ref, v)
	return joinFailures(st, fmt.Sprintf("VM %q must exist in every view while %s (task %q) runs", p.ref.name, p.call, p.task), f)
}

func awaitPending(ctx context.Context, what string) error {
	st := current(ctx)
	p, err := st.pendingOf(what)
	if err != nil {
		return err
	}
	t, err := st.tasksAPI()
	if err != nil {
		return err
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	if err := st.expectOK(p.call, t.AwaitTask(octx, p.call, p.task)); err != nil {
		return err
	}
	if what == "delete" {
		st.res.vmDeleted(p.ref.id)
	}
	st.pending = nil
	return nil
}

// badProbe is one bad request of the responsiveness sweep and what followed it.
type badProbe struct {
	request string
	call    string
	err     error
	skipped string // why the dialect could not send it
	failure string // why the provider counts as unresponsive after it
}

// badRequest sends one named bad request; skipped is set when the dialect cannot express it.
func (st *scenario) badRequest(ctx context.Context, request string, ref *vmRef) (call, skipped string, err error) {
	octx, cancel := st.op(ctx)
	defer cancel()
	unknown := func() string {
		id, uerr := st.s.unknownVMID(ctx)
		if uerr != nil {
			err = uerr
		}
		return id
	}
	raw, rawOK := st.d.(driver.RawPayloads)
	if ok, _ := st.d.Supports(driver.FeatureRawPayload); !ok {
		rawOK = false
	}
	tasks, tasksOK := st.d.(driver.Tasks)
	if ok, _ := st.d.Supports(driver.FeatureTasks); !ok {
		tasksOK = false
	}
	switch request {
	case "create without a name":
		a := st.create(ctx, "", st.s.cfg.VMSpec)
		return a.call, "", a.err
	case "create with 0 CPUs":
		a := st.create(ctx, st.vmName("bad"), st.spec(0, int(st.s.cfg.VMSpec.MemoryMiB)))
		return a.call, "", a.err
	case "create with malformed class JSON":
		if !rawOK {
			return "", "no raw payloads", nil
		}
		name := st.vmName("bad")
		id, err := raw.CreateRaw(octx, name, st.s.cfg.VMSpec, `{"CPU":`)
		st.res.addVM(id, name)
		return fmt.Sprintf(`Create(name=%q, class_json={"CPU":)`, name), "", err
	case "describe an empty id":
		_, err := st.d.Describe(octx, "")
		return `Describe(id="")`, "", err
	case "power with operation 99":
		return powerCall(ref.id, 99), "", st.d.Power(octx, ref.id, 99)
	case "power an unknown VM":
		id := unknown()
		if idsReused(err) {
			return "", err.Error(), nil
		}
		if err != nil {
			return "obtaining an unknown id", "", err
		}
		return powerCall(id, driver.PowerOn), "", st.d.Power(octx, id, driver.PowerOn)
	case "reconfigure an unknown VM":
		id := unknown()
		if idsReused(err) {
			return "", err.Error(), nil
		}
		if err != nil {
			return "obtaining an unknown id", "", err
		}
		name := st.vmName("unknown")
		return st.reconfigureCall(id, name, st.s.cfg.VMSpec), "", st.d.Reconfigure(octx, id, name, st.s.cfg.VMSpec)
	case "reconfigure with malformed desired JSON":
		if !rawOK {
			return "", "no raw payloads", nil
		}
		return fmt.Sprintf(`Reconfigure(id=%q, desired_json={"Class":)`, ref.id), "", raw.ReconfigureRaw(octx, ref.id, `{"Class":`)
	case "delete an empty id":
		return `Delete(id="")`, "", st.d.Delete(octx, "")
	case "get the status of an unknown task":
		if !tasksOK {
			return "", "no tasks", nil
		}
		_, err := tasks.TaskStatus(octx, st.s.cfg.UnknownTaskID, true)
		return fmt.Sprintf("TaskStatus(task.id=%q)", st.s.cfg.UnknownTaskID), "", err
	case "get the status of no task reference":
		if !tasksOK {
			return "", "no tasks", nil
		}
		_, err := tasks.TaskStatus(octx, "", false)
		return "TaskStatus(task=nil)", "", err
	}
	return "", "", fmt.Errorf("unknown bad request %q in the feature file", request)
}

// crashCodes are the answers of a provider that panicked or died on a request: a client
// mistake must never produce them.
var crashCodes = map[codes.Code]bool{codes.Unknown: true, codes.Internal: true, codes.Unavailable: true}

func sendBadRequests(ctx context.Context, table *godog.Table) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	if len(table.Rows) < 2 {
		return st.failf("the bad-request table is empty")
	}
	for _, row := range table.Rows[1:] {
		p := badProbe{request: row.Cells[0].Value}
		start := time.Now()
		var skipped string
		p.call, skipped, p.err = st.badRequest(ctx, p.request, ref)
		elapsed := time.Since(start)
		if skipped != "" {
			p.skipped = skipped
			st.bad = append(st.bad, p)
			continue
		}
		code, isStatus := codeOf(p.err)
		switch {
		case isStatus && code == codes.DeadlineExceeded, elapsed > st.s.cfg.CallTimeout+st.s.cfg.TaskTimeout:
			p.failure = fmt.Sprintf("%s (%s): no answer within the call timeout (%s)", p.request, p.call, answer(p.err))
		case isStatus && crashCodes[code]:
			p.failure = fmt.Sprintf("%s (%s): answered %s, the sign of a crash, not of a rejected request", p.request, p.call, answer(p.err))
		default:
			p.failure = st.probe(ctx, ref, p)
		}
		st.bad = append(st.bad, p)
	}
	return nil
}

// probe checks a read, the list and a write after a bad request: the upstream mock, for one,
// kept answering reads while its write lock stayed held.
func (st *scenario) probe(ctx context.Context, ref *vmRef, p badProbe) string {
	after := fmt.Sprintf("after %s (%s answered %s)", p.request, p.call, answer(p.err))
	rctx, cancel := st.read(ctx)
	_, err := st.d.Describe(rctx, ref.id)
	cancel()
	if err != nil {
		return fmt.Sprintf("provider unresponsive %s: Describe(id=%q) answered %s", after, ref.id, answer(err))
	}
	rctx, cancel = st.read(ctx)
	_, err = st.d.List(rctx)
	cancel()
	if err != nil {
		return fmt.Sprintf("provider unresponsive %s: ListVMs answered %s", after, answer(err))
	}
	if a := st.power(ctx, ref, driver.PowerOn); a.err != nil {
		return fmt.Sprintf("provider unresponsive %s: %s answered %s", after, a.call, answer(a.err))
	}
	return ""
}

func stillAnswered(ctx context.Context) error {
	st := current(ctx)
	var f []string
	sent := 0
	for _, p := range st.bad {
		if p.skipped != "" {
			continue
		}
		sent++
		if p.failure != "" {
			f = append(f, p.failure)
		}
	}
	if sent == 0 {
		return st.failf("no bad request could be sent in dialect %s", st.d.Dialect())
	}
	return joinFailures(st, fmt.Sprintf("the provider must keep answering after bad requests (%d sent)", sent), f)
}
