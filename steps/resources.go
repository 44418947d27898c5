package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/steps/driver"
)

// resources tracks every VM and snapshot a scenario creates, so that they are deleted after
// the scenario whatever happened in it. The steps register each id the moment the provider
// returns it, before any assertion can fail.
type resources struct {
	d      driver.Driver
	prefix string // every name this set's owner creates starts with it

	mu    sync.Mutex
	items []resource
}

type resource struct {
	vmID, vmName string
	snapshotID   string // empty for a VM
	gone         bool   // deleted by the scenario itself
}

func newResources(d driver.Driver, prefix string) *resources {
	return &resources{d: d, prefix: prefix}
}

func (r *resources) addVM(id, name string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, resource{vmID: id, vmName: name})
}

func (r *resources) addSnapshot(vmID, snapshotID string) {
	if vmID == "" || snapshotID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, resource{vmID: vmID, snapshotID: snapshotID})
}

// vmDeleted marks a VM, and with it its snapshots, as already gone.
func (r *resources) vmDeleted(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.items {
		if r.items[i].vmID == id {
			r.items[i].gone = true
		}
	}
}

func (r *resources) snapshotDeleted(vmID, snapshotID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.items {
		if it := r.items[i]; it.vmID == vmID && it.snapshotID == snapshotID {
			r.items[i].gone = true
		}
	}
}

// cleanup deletes what is still registered, newest first, then sweeps the VM list for
// anything named with the owner's prefix that escaped registration (a create that timed out
// but happened anyway). NotFound counts as deleted.
func (r *resources) cleanup(ctx context.Context, timeouts driver.Timeouts) error {
	r.mu.Lock()
	items := r.items
	r.items = nil
	r.mu.Unlock()

	var errs []error
	deleted := map[string]bool{}
	canDeleteSnapshots, _ := r.d.Supports(driver.FeatureSnapshotDelete)
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.gone {
			continue
		}
		switch {
		case it.snapshotID != "":
			if !canDeleteSnapshots {
				continue // deleting the VM takes its snapshots with it
			}
			err := bounded(ctx, timeouts, func(ctx context.Context) error {
				return r.d.SnapshotDelete(ctx, it.vmID, it.snapshotID)
			})
			if err != nil && status.Code(err) != codes.NotFound {
				errs = append(errs, fmt.Errorf("SnapshotDelete(vm_id=%q, snapshot_id=%q): %w", it.vmID, it.snapshotID, err))
			}
		case !deleted[it.vmID]:
			deleted[it.vmID] = true
			if err := r.deleteVM(ctx, timeouts, it.vmID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := r.sweep(ctx, timeouts); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *resources) deleteVM(ctx context.Context, timeouts driver.Timeouts, id string) error {
	err := bounded(ctx, timeouts, func(ctx context.Context) error { return r.d.Delete(ctx, id) })
	if err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("Delete(id=%q): %w", id, err)
	}
	return nil
}

func (r *resources) sweep(ctx context.Context, timeouts driver.Timeouts) error {
	if r.prefix == "" {
		return nil
	}
	var vms []driver.VM
	err := bounded(ctx, timeouts, func(ctx context.Context) (err error) {
		vms, err = r.d.List(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("ListVMs (looking for leftovers named %s*): %w", r.prefix, err)
	}
	var errs []error
	swept := 0
	for _, vm := range vms {
		if !strings.HasPrefix(vm.Name, r.prefix) || vm.ID == "" {
			continue
		}
		swept++
		if err := r.deleteVM(ctx, timeouts, vm.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if swept > 0 && len(errs) == 0 {
		errs = append(errs, r.confirmGone(ctx, timeouts))
	}
	return errors.Join(errs...)
}

// confirmGone lists once more after the sweep deleted something, and names every VM with the
// owner's prefix that the provider still lists and still describes as existing: a Delete that
// answered OK and kept the VM would otherwise leave it behind unnoticed.
func (r *resources) confirmGone(ctx context.Context, timeouts driver.Timeouts) error {
	var vms []driver.VM
	err := bounded(ctx, timeouts, func(ctx context.Context) (err error) {
		vms, err = r.d.List(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("ListVMs (confirming leftovers named %s* are gone): %w", r.prefix, err)
	}
	var left []string
	for _, vm := range vms {
		if !strings.HasPrefix(vm.Name, r.prefix) || vm.ID == "" {
			continue
		}
		// A list that keeps deleted VMs fails its own rules; a leftover is a VM that still exists.
		var d driver.Description
		err := bounded(ctx, timeouts, func(ctx context.Context) (err error) {
			d, err = r.d.Describe(ctx, vm.ID)
			return err
		})
		switch {
		case status.Code(err) == codes.NotFound || (err == nil && !d.Exists):
		case err != nil:
			left = append(left, fmt.Sprintf("%s (id %q; Describe: %v)", vm.Name, vm.ID, err))
		default:
			left = append(left, fmt.Sprintf("%s (id %q)", vm.Name, vm.ID))
		}
	}
	if len(left) == 0 {
		return nil
	}
	return fmt.Errorf("still present after Delete answered OK: %s", strings.Join(left, ", "))
}

// bounded runs one driver operation with the call and task bounds of the run; cleanup must
// finish even when the provider hangs.
func bounded(ctx context.Context, t driver.Timeouts, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(driver.WithTimeouts(ctx, t), t.Call+t.Task)
	defer cancel()
	return fn(ctx)
}
