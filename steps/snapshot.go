package steps

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"

	"github.com/vctsio/vcts/steps/driver"
)

var snapshotSteps = []phrase{
	{`^I take a snapshot "([^"]*)" of the VM(?: "([^"]*)")?$`, takeSnapshot},
	{`^the snapshot "([^"]*)" has a non-empty id$`, snapshotHasID},
	{`^I take N snapshots of the VM with distinct names$`, takeSnapshots},
	{`^the snapshots all have different, non-empty ids$`, snapshotsDistinct},
	{`^I take P snapshots of the VM with distinct names in parallel$`, takeSnapshotsInParallel},
	{`^every snapshot taken has an id of its own, and every other one was refused as busy$`, parallelSnapshotsDistinct},
	{`^I revert the VM(?: "([^"]*)")? to snapshot "([^"]*)"$`, revertSnapshot},
	{`^I try to revert the VM(?: "([^"]*)")? to snapshot "([^"]*)"$`, tryRevert},
	{`^I try to revert the VM to an unknown snapshot$`, tryRevertUnknown},
	{`^I try to revert the VM to snapshot "([^"]*)" by the id "([^"]*)"$`, tryRevertByIDVariant},
	{`^I delete the snapshot "([^"]*)"$`, deleteSnapshot},
	{`^I take a snapshot "([^"]*)" of the VM under the name hint of "([^"]*)"$`, takeSnapshotSameHint},
	{`^I delete the snapshot "([^"]*)" if it is a snapshot of its own$`, deleteSnapshotOfItsOwn},
	{`^I try to delete the snapshot "([^"]*)"$`, tryDeleteSnapshot},
	{`^I try to delete the snapshot "([^"]*)" through the VM "([^"]*)"$`, tryDeleteSnapshotThrough},
	{`^I try to delete an unknown snapshot of the VM$`, tryDeleteUnknownSnapshot},
	{`^I send the delete request for snapshot "([^"]*)" N times$`, repeatSnapshotDelete},
	{`^I try to (revert to|delete) snapshot "([^"]*)" with (an empty VM id|an empty snapshot id)$`, trySnapshotWithEmptyID},
}

func (st *scenario) snapshot(alias string) (*snapRef, error) {
	s, ok := st.snaps[alias]
	if !ok {
		return nil, st.failf("the scenario refers to snapshot %q before taking it", alias)
	}
	if s.refused != "" {
		return nil, st.failf("snapshot %q was never taken: the provider refused it (%s)", alias, s.refused)
	}
	return s, nil
}

// takeSnapshotOf registers the snapshot before judging the answer; an empty id is a failure
// at once, since every later step needs it.
func (st *scenario) takeSnapshotOf(ctx context.Context, ref *vmRef, alias string) (*snapRef, error) {
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := st.d.SnapshotCreate(octx, ref.id, st.vmName(alias))
	st.res.addSnapshot(ref.id, id)
	call := fmt.Sprintf("SnapshotCreate(vm_id=%q, name_hint=%q)", ref.id, st.vmName(alias))
	if err := st.expectOK(call, err); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, st.failf("%s: answered OK with an empty snapshot id", call)
	}
	s := &snapRef{alias: alias, vmAlias: ref.alias, vmID: ref.id, id: id}
	st.snaps[alias] = s
	return s, nil
}

// takeSnapshotSameHint asks for a second snapshot under the name hint an earlier one was taken
// with. A provider may refuse it (AlreadyExists, InvalidArgument, FailedPrecondition or a failed
// task), answer with the earlier snapshot's id, or take a new one; later steps judge what it did.
func takeSnapshotSameHint(ctx context.Context, alias, hintOf string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	if _, err := st.snapshot(hintOf); err != nil {
		return err
	}
	hint := st.vmName(hintOf)
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := st.d.SnapshotCreate(octx, ref.id, hint)
	st.res.addSnapshot(ref.id, id)
	call := fmt.Sprintf("SnapshotCreate(vm_id=%q, name_hint=%q), a name hint already taken", ref.id, hint)
	var te *driver.TaskError
	refused := errors.As(err, &te) && !te.TimedOut // the manager reads a failed task as a refusal
	if code, known := codeOf(err); refused || known && (code == codes.AlreadyExists || code == codes.InvalidArgument || code == codes.FailedPrecondition) {
		st.snaps[alias] = &snapRef{alias: alias, vmAlias: ref.alias, vmID: ref.id, refused: answer(err)}
		return nil
	}
	if err != nil {
		return st.failf("%s: expected OK, or a refusal (AlreadyExists, InvalidArgument, FailedPrecondition or a failed task), got %s", call, answer(err))
	}
	if id == "" {
		return st.failf("%s: answered OK with an empty snapshot id", call)
	}
	st.snaps[alias] = &snapRef{alias: alias, vmAlias: ref.alias, vmID: ref.id, id: id}
	return nil
}

// deleteSnapshotOfItsOwn deletes a snapshot unless it was refused or is another alias's
// snapshot (its id was handed out before).
func deleteSnapshotOfItsOwn(ctx context.Context, alias string) error {
	st := current(ctx)
	s, ok := st.snaps[alias]
	if !ok {
		return st.failf("the scenario refers to snapshot %q before taking it", alias)
	}
	if s.refused != "" {
		return nil
	}
	for other, o := range st.snaps {
		if other != alias && o.id == s.id {
			return nil
		}
	}
	a := st.deleteSnap(ctx, s.vmID, s.id)
	return st.expectOK(a.call, a.err)
}

func takeSnapshot(ctx context.Context, alias, vmAlias string) error {
	st := current(ctx)
	ref, err := st.vm(vmAlias)
	if err != nil {
		return err
	}
	_, err = st.takeSnapshotOf(ctx, ref, alias)
	return err
}

func snapshotHasID(ctx context.Context, alias string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	if s.id == "" {
		return st.failf("snapshot %q has an empty id", alias)
	}
	return nil
}

func takeSnapshots(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	st.snapIDs = nil
	for i := range st.s.cfg.IdempotentCount {
		s, err := st.takeSnapshotOf(ctx, ref, fmt.Sprintf("s%d", i+1))
		if err != nil {
			return err
		}
		st.snapIDs = append(st.snapIDs, s.id)
	}
	return nil
}

func takeSnapshotsInParallel(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	n := st.s.cfg.ParallelCreates
	st.parallel = make([]attempt, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			hint := st.vmName(fmt.Sprintf("ps%02d", i+1))
			octx, cancel := st.op(ctx)
			defer cancel()
			id, err := st.d.SnapshotCreate(octx, ref.id, hint)
			st.res.addSnapshot(ref.id, id)
			st.parallel[i] = attempt{call: fmt.Sprintf("SnapshotCreate(vm_id=%q, name_hint=%q)", ref.id, hint), err: err, id: id}
		})
	}
	wg.Wait()
	return nil
}

// parallelSnapshotsDistinct: hypervisors may run one snapshot task per VM at a time, so a
// snapshot refused as busy (Unavailable, Aborted, ResourceExhausted, FailedPrecondition, or a
// task that ends with an error) is honest; two that succeed never share an id.
func parallelSnapshotsDistinct(ctx context.Context) error {
	st := current(ctx)
	var f []string
	seen := map[string]string{}
	for _, a := range st.parallel {
		var te *driver.TaskError
		code, _ := codeOf(a.err)
		switch {
		case a.err == nil && a.id == "":
			f = append(f, fmt.Sprintf("%s: answered OK with an empty snapshot id", a.call))
		case a.err == nil && seen[a.id] != "":
			f = append(f, fmt.Sprintf("%s answered snapshot id %q, the id %s answered too", a.call, a.id, seen[a.id]))
		case a.err == nil:
			seen[a.id] = a.call
		case errors.As(a.err, &te) && !te.TimedOut:
		case code == codes.Unavailable || code == codes.Aborted || code == codes.ResourceExhausted || code == codes.FailedPrecondition:
		default:
			f = append(f, fmt.Sprintf("%s: expected OK, or a refusal as busy, got %s", a.call, answer(a.err)))
		}
	}
	if len(seen) == 0 && len(f) == 0 {
		f = append(f, "every snapshot was refused: at least one of them must be taken")
	}
	return joinFailures(st, "snapshots of one VM taken in parallel must each get an id of their own", f)
}

func snapshotsDistinct(ctx context.Context) error {
	st := current(ctx)
	seen := map[string]int{}
	for i, id := range st.snapIDs {
		if id == "" {
			return st.failf("snapshot %d of %d has an empty id", i+1, len(st.snapIDs))
		}
		if j, dup := seen[id]; dup {
			return st.failf("snapshots %d and %d of one VM got the same id %q", j+1, i+1, id)
		}
		seen[id] = i
	}
	if len(seen) == 0 {
		return st.failf("no snapshot was taken")
	}
	return nil
}

func revertCall(vmID, snapID string) string {
	return fmt.Sprintf("SnapshotRevert(vm_id=%q, snapshot_id=%q)", vmID, snapID)
}

func snapDeleteCall(vmID, snapID string) string {
	return fmt.Sprintf("SnapshotDelete(vm_id=%q, snapshot_id=%q)", vmID, snapID)
}

func (st *scenario) revert(ctx context.Context, vmID, snapID string) attempt {
	octx, cancel := st.op(ctx)
	defer cancel()
	return attempt{call: revertCall(vmID, snapID), err: st.d.SnapshotRevert(octx, vmID, snapID)}
}

func (st *scenario) deleteSnap(ctx context.Context, vmID, snapID string) attempt {
	octx, cancel := st.op(ctx)
	defer cancel()
	err := st.d.SnapshotDelete(octx, vmID, snapID)
	if err == nil {
		st.res.snapshotDeleted(vmID, snapID)
	}
	return attempt{call: snapDeleteCall(vmID, snapID), err: err}
}

func revertSnapshot(ctx context.Context, vmAlias, alias string) error {
	st := current(ctx)
	ref, err := st.vm(vmAlias)
	if err != nil {
		return err
	}
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	a := st.revert(ctx, ref.id, s.id)
	return st.expectOK(a.call, a.err)
}

func tryRevert(ctx context.Context, vmAlias, alias string) error {
	st := current(ctx)
	ref, err := st.vm(vmAlias)
	if err != nil {
		return err
	}
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	a := st.revert(ctx, ref.id, s.id)
	st.last = &a
	return nil
}

// tryRevertByIDVariant reverts the VM to a path-like variant of a snapshot's id (see
// idVariant).
func tryRevertByIDVariant(ctx context.Context, alias, variant string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	a := st.revert(ctx, ref.id, idVariant(variant, s.id))
	st.last = &a
	return nil
}

// unknownSnapshotID is a snapshot id of the VM that does not exist: configured, or taken and
// deleted (so it has the provider's format), or, when the dialect cannot delete snapshots,
// made up.
func (st *scenario) unknownSnapshotID(ctx context.Context, ref *vmRef) (string, error) {
	if id := st.s.cfg.UnknownSnapshotID; id != "" {
		return id, nil
	}
	if ok, _ := st.d.Supports(driver.FeatureSnapshotDelete); !ok {
		return st.prefix + "-no-such-snapshot", nil
	}
	s, err := st.takeSnapshotOf(ctx, ref, "unknown")
	if err != nil {
		return "", err
	}
	if a := st.deleteSnap(ctx, ref.id, s.id); a.err != nil {
		return "", st.failf("obtaining an unknown snapshot id: %s: expected OK, got %s", a.call, answer(a.err))
	}
	delete(st.snaps, "unknown")
	return s.id, nil
}

func tryRevertUnknown(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	id, err := st.unknownSnapshotID(ctx, ref)
	if err != nil {
		return err
	}
	a := st.revert(ctx, ref.id, id)
	st.last = &a
	return nil
}

func deleteSnapshot(ctx context.Context, alias string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	a := st.deleteSnap(ctx, s.vmID, s.id)
	return st.expectOK(a.call, a.err)
}

func tryDeleteSnapshot(ctx context.Context, alias string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	ref, err := st.vm(s.vmAlias)
	if err != nil {
		return err
	}
	a := st.deleteSnap(ctx, ref.id, s.id)
	st.last = &a
	return nil
}

// tryDeleteSnapshotThrough asks to delete a snapshot under a VM it does not belong to.
func tryDeleteSnapshotThrough(ctx context.Context, alias, vmAlias string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	ref, err := st.vm(vmAlias)
	if err != nil {
		return err
	}
	a := st.deleteSnap(ctx, ref.id, s.id)
	st.last = &a
	return nil
}

func tryDeleteUnknownSnapshot(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	id, err := st.unknownSnapshotID(ctx, ref)
	if err != nil {
		return err
	}
	a := st.deleteSnap(ctx, ref.id, id)
	st.last = &a
	return nil
}

func repeatSnapshotDelete(ctx context.Context, alias string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		st.reps = append(st.reps, st.deleteSnap(ctx, s.vmID, s.id))
	}
	return nil
}

func trySnapshotWithEmptyID(ctx context.Context, action, alias, which string) error {
	st := current(ctx)
	s, err := st.snapshot(alias)
	if err != nil {
		return err
	}
	vmID, snapID := s.vmID, s.id
	if which == "an empty VM id" {
		vmID = ""
	} else {
		snapID = ""
	}
	var a attempt
	if action == "revert to" {
		a = st.revert(ctx, vmID, snapID)
	} else {
		a = st.deleteSnap(ctx, vmID, snapID)
	}
	st.last = &a
	return nil
}
