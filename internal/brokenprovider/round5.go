package brokenprovider

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// The defects of the fifth mutation round: changes to distinct VMs that overlap in time.

// inventory imitates a provider that keeps its whole inventory in one document and changes a
// VM by reading the document, calling the hypervisor (slowly: window) and writing the
// document back with its own change. Another VM's change that lands in between is lost: it
// is undone when the slower write lands, though its call answered OK. Changes that do not
// overlap are kept.
type inventory struct {
	window time.Duration

	mu      sync.Mutex
	seq     int
	commits []commit
}

// commit is one change that landed, with what puts the VM back as it was before it.
type commit struct {
	seq  int
	id   string
	undo func(context.Context)
}

// write runs one change of VM id: read is called just before do (the change itself) and
// returns what undoes it. Changes of other VMs that landed after this write started are
// undone once it lands.
func (inv *inventory) write(ctx context.Context, id string, read func() func(context.Context), do func() error) error {
	inv.mu.Lock()
	start := inv.seq
	inv.mu.Unlock()

	time.Sleep(inv.window)
	undo := read()
	if err := do(); err != nil {
		return err
	}

	inv.mu.Lock()
	var lost, kept []commit
	for _, c := range inv.commits {
		if c.seq > start && c.id != id {
			lost = append(lost, c)
		} else {
			kept = append(kept, c)
		}
	}
	inv.seq++
	inv.commits = append(kept, commit{seq: inv.seq, id: id, undo: undo})
	if len(inv.commits) > 256 {
		inv.commits = inv.commits[len(inv.commits)-256:]
	}
	inv.mu.Unlock()

	for _, c := range lost {
		c.undo(context.WithoutCancel(ctx))
	}
	return nil
}

// Which changes go through the inventory document.
type changes int

const (
	reconfigures changes = iota
	powerChanges
)

// v1LostUpdates makes one kind of change (reconfigures or power changes) as inventory does:
// those of distinct VMs that overlap lose all but the last.
type v1LostUpdates struct {
	providerv1.ProviderServer
	inv  *inventory
	kind changes
}

// restore is what puts the VM back to its size and power state as they are now.
func (w v1LostUpdates) restore(ctx context.Context, id string) func(context.Context) {
	resp, err := w.ProviderServer.Describe(ctx, &providerv1.DescribeRequest{Id: id})
	var vm v1VM
	if err != nil || !resp.GetExists() || json.Unmarshal([]byte(resp.GetProviderRawJson()), &vm) != nil {
		return func(context.Context) {}
	}
	power := resp.GetPowerState()
	return func(ctx context.Context) {
		resizeV1(ctx, w.ProviderServer, id, vm.Name, vm.CPU, vm.MemoryMiB)
		op := providerv1.PowerOp_POWER_OP_OFF
		if power == "On" {
			op = providerv1.PowerOp_POWER_OP_ON
		}
		_, _ = w.ProviderServer.Power(ctx, &providerv1.PowerRequest{Id: id, Op: op})
	}
}

func (w v1LostUpdates) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if w.kind != reconfigures {
		return w.ProviderServer.Reconfigure(ctx, req)
	}
	var resp *providerv1.TaskResponse
	err := w.inv.write(ctx, req.GetId(), func() func(context.Context) { return w.restore(ctx, req.GetId()) }, func() error {
		var err error
		resp, err = w.ProviderServer.Reconfigure(ctx, req)
		return err
	})
	return resp, err
}

func (w v1LostUpdates) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if w.kind != powerChanges {
		return w.ProviderServer.Power(ctx, req)
	}
	var resp *providerv1.TaskResponse
	err := w.inv.write(ctx, req.GetId(), func() func(context.Context) { return w.restore(ctx, req.GetId()) }, func() error {
		var err error
		resp, err = w.ProviderServer.Power(ctx, req)
		return err
	})
	return resp, err
}

type tutLostUpdates struct {
	tutorialv1.ProviderServiceServer
	inv  *inventory
	kind changes
}

func (w tutLostUpdates) restore(ctx context.Context, id string) func(context.Context) {
	vm, ok := getTutorial(ctx, w.ProviderServiceServer, id)
	if !ok {
		return func(context.Context) {}
	}
	spec, state := vm.GetSpec(), vm.GetStatus().GetState()
	return func(ctx context.Context) {
		_, _ = w.ProviderServiceServer.UpdateVM(ctx, &tutorialv1.UpdateVMRequest{VmId: id, Spec: spec})
		op := tutorialv1.PowerOp_POWER_OP_OFF
		if state == "Running" {
			op = tutorialv1.PowerOp_POWER_OP_ON
		}
		_, _ = w.ProviderServiceServer.PowerVM(ctx, &tutorialv1.PowerVMRequest{VmId: id, PowerOp: op})
	}
}

func (w tutLostUpdates) UpdateVM(ctx context.Context, req *tutorialv1.UpdateVMRequest) (*tutorialv1.UpdateVMResponse, error) {
	if w.kind != reconfigures {
		return w.ProviderServiceServer.UpdateVM(ctx, req)
	}
	var resp *tutorialv1.UpdateVMResponse
	err := w.inv.write(ctx, req.GetVmId(), func() func(context.Context) { return w.restore(ctx, req.GetVmId()) }, func() error {
		var err error
		resp, err = w.ProviderServiceServer.UpdateVM(ctx, req)
		return err
	})
	return resp, err
}

func (w tutLostUpdates) PowerVM(ctx context.Context, req *tutorialv1.PowerVMRequest) (*tutorialv1.PowerVMResponse, error) {
	if w.kind != powerChanges {
		return w.ProviderServiceServer.PowerVM(ctx, req)
	}
	var resp *tutorialv1.PowerVMResponse
	err := w.inv.write(ctx, req.GetVmId(), func() func(context.Context) { return w.restore(ctx, req.GetVmId()) }, func() error {
		var err error
		resp, err = w.ProviderServiceServer.PowerVM(ctx, req)
		return err
	})
	return resp, err
}
