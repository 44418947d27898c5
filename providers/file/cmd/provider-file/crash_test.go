package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file"
)

var (
	crashCycles  = flag.Int("crash.cycles", 20, "kill -9 cycles of TestCrashConsistency (5 with -short)")
	crashSeed    = flag.Uint64("crash.seed", 0, "random seed of TestCrashConsistency (0: time-based; the seed used is logged)")
	crashWorkers = flag.Int("crash.workers", 6, "concurrent clients per cycle of TestCrashConsistency")
	crashWindow  = flag.Duration("crash.window", 40*time.Millisecond,
		"TestCrashConsistency kills at a random moment this long after the first acknowledged write of a cycle")
)

// skipLogMsg is what the store logs for every file it cannot load at start-up.
const skipLogMsg = "skipped a file in the storage directory"

// spec is the part of a VM the test can check through every view.
type spec struct {
	CPU       int32
	MemoryMiB int64
}

// vmState is what the clients know about one VM that was acknowledged as created.
type vmState struct {
	id, name string
	// allowed lists the specs the VM may have after a crash: one when settled, the old and
	// the new while a reconfigure was unacknowledged.
	allowed []spec
	busy    bool // a client operates on it; others leave it alone
	// deleting: a delete was sent and not acknowledged, so the VM may or may not survive.
	deleting bool
}

// ledger is the clients' view of what the provider acknowledged; the provider must honour
// every acknowledgement after any crash.
type ledger struct {
	mu      sync.Mutex
	vms     map[string]*vmState // by id; acknowledged as created, not acknowledged as deleted
	pending map[string]spec     // by name; Create sent, no answer yet
	deleted map[string]string   // id → name; deletion acknowledged
	acks    int
}

func newLedger() *ledger {
	return &ledger{vms: map[string]*vmState{}, pending: map[string]spec{}, deleted: map[string]string{}}
}

// claimIdle marks a random idle VM busy and returns it; nil when none is idle.
func (l *ledger) claimIdle(rng *rand.Rand) *vmState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var idle []*vmState
	for _, vm := range l.vms {
		if !vm.busy {
			idle = append(idle, vm)
		}
	}
	if len(idle) == 0 {
		return nil
	}
	vm := idle[rng.IntN(len(idle))]
	vm.busy = true
	return vm
}

// TestCrashConsistency kills the real binary with SIGKILL at random moments while clients
// create, reconfigure, snapshot and delete VMs concurrently, restarts it on the same storage
// directory and checks that every acknowledged write survived, nothing unacknowledged
// appeared from nowhere, and no file in the directory is corrupt.
func TestCrashConsistency(t *testing.T) {
	cycles := *crashCycles
	if testing.Short() && cycles > 5 {
		cycles = 5
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d), %d cycles, %d workers", seed, seed, cycles, *crashWorkers)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	dir := filepath.Join(t.TempDir(), "vms")
	book := newLedger()
	providerBinary(t)
	began := time.Now()

	p := startProvider(t, dir)
	for cycle := range cycles {
		verifyAfterRestart(t, p, dir, book, cycle)
		if t.Failed() {
			return
		}
		killAt := time.Duration(rng.Int64N(int64(*crashWindow)))
		runWorkloadAndKill(t, p, book, cycle, killAt, rng.Uint64())
		if races := p.dataRaces(); len(races) > 0 {
			t.Fatalf("the race detector reported %d data races in provider-file:\n%s", len(races), p.logs)
		}
		p = startProvider(t, dir)
	}
	verifyAfterRestart(t, p, dir, book, cycles)

	// After all the crashes the provider still stops cleanly.
	require.NoError(t, p.terminate(t), "exit after SIGTERM:\n%s", p.logs)
	assert.NotEmpty(t, p.logs.withMsg("stopped"))
	t.Logf("%d cycles in %s (build excluded): %d acknowledged writes, %d VMs alive, %d deleted",
		cycles, time.Since(began).Round(time.Millisecond), book.acks, len(book.vms), len(book.deleted))
}

// runWorkloadAndKill lets the workers mutate the provider and kills it killAt after the first
// acknowledged write: timing from that point (not from the start) keeps cycles from ending
// before the clients are connected and writing.
func runWorkloadAndKill(t *testing.T, p *providerProcess, book *ledger, cycle int, killAt time.Duration, seed uint64) {
	t.Helper()
	c := p.dial(t)
	var wg sync.WaitGroup
	unexpected := make(chan error, *crashWorkers)
	killed := make(chan struct{})
	firstAck := make(chan struct{}, 1)
	for w := range *crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; ; n++ {
				err := step(c.v1, book, rng, fmt.Sprintf("crash-c%d-w%d-%d", cycle, w, n))
				if err == nil {
					select {
					case firstAck <- struct{}{}:
					default:
					}
					continue
				}
				select {
				case <-killed:
					if !isKillError(err) {
						unexpected <- fmt.Errorf("worker %d, after the kill, not a connection error: %w", w, err)
					}
				default:
					unexpected <- fmt.Errorf("worker %d, before the kill: %w", w, err)
				}
				return
			}
		}()
	}
	select {
	case <-firstAck:
	case <-time.After(10 * time.Second):
		t.Errorf("cycle %d: no write was acknowledged within 10s", cycle)
	}
	time.Sleep(killAt)
	close(killed)
	p.kill9(t)
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Errorf("cycle %d: %v", cycle, err)
	}
}

// step performs one random operation and records what the provider acknowledged.
func step(v1 providerv1.ProviderClient, book *ledger, rng *rand.Rand, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := spec{CPU: 1 + rng.Int32N(8), MemoryMiB: 256 * (1 + rng.Int64N(32))}

	roll := rng.IntN(100)
	var vm *vmState
	if roll < 60 {
		vm = book.claimIdle(rng)
	}
	switch {
	case vm != nil && roll < 25:
		book.mu.Lock()
		vm.deleting = true
		book.mu.Unlock()
		if _, err := v1.Delete(ctx, &providerv1.DeleteRequest{Id: vm.id}); err != nil {
			return err
		}
		book.mu.Lock()
		delete(book.vms, vm.id)
		book.deleted[vm.id] = vm.name
		book.acks++
		book.mu.Unlock()
	case vm != nil && roll < 45:
		book.mu.Lock()
		old := vm.allowed[0]
		vm.allowed = []spec{old, want}
		book.mu.Unlock()
		desired := fmt.Sprintf(`{"Class":{"CPU":%d,"MemoryMiB":%d}}`, want.CPU, want.MemoryMiB)
		if _, err := v1.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: vm.id, DesiredJson: desired}); err != nil {
			return err
		}
		book.mu.Lock()
		vm.allowed = []spec{want}
		vm.busy = false
		book.acks++
		book.mu.Unlock()
	case vm != nil:
		resp, err := v1.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: vm.id, NameHint: "crash"})
		if err != nil {
			return err
		}
		if resp.GetSnapshotId() == "" {
			return fmt.Errorf("SnapshotCreate on %s acknowledged without a snapshot id", vm.id)
		}
		book.mu.Lock()
		vm.busy = false
		book.acks++
		book.mu.Unlock()
	default:
		book.mu.Lock()
		book.pending[name] = want
		book.mu.Unlock()
		resp, err := v1.Create(ctx, &providerv1.CreateRequest{
			Name:      name,
			ClassJson: fmt.Sprintf(`{"CPU":%d,"MemoryMiB":%d}`, want.CPU, want.MemoryMiB),
			ImageJson: `{"TemplateName":"ubuntu-22.04"}`,
		})
		if err != nil {
			return err
		}
		if resp.GetId() == "" {
			return fmt.Errorf("Create %s acknowledged without an id", name)
		}
		book.mu.Lock()
		delete(book.pending, name)
		book.vms[resp.GetId()] = &vmState{id: resp.GetId(), name: name, allowed: []spec{want}}
		book.acks++
		book.mu.Unlock()
	}
	return nil
}

// verifyAfterRestart checks the restarted provider against the ledger, then settles the
// ledger's open questions with what the provider reports.
func verifyAfterRestart(t testing.TB, p *providerProcess, dir string, book *ledger, cycle int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := p.dial(t)

	for _, rec := range p.logs.withMsg(skipLogMsg) {
		t.Errorf("cycle %d: the store skipped a file at start-up: %v", cycle, rec)
	}
	if v, ok := p.metric(t, file.MetricSkippedFiles, `provider="file"`, `reason="corrupt"`); ok {
		assert.Zero(t, v, "cycle %d: corrupt files counted", cycle)
	} else {
		t.Errorf("cycle %d: /metrics has no %s", cycle, file.MetricSkippedFiles)
	}

	list, err := c.v1.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	listed := map[string]*providerv1.VMInfo{}
	byName := map[string]*providerv1.VMInfo{}
	for _, info := range list.GetVms() {
		require.NotContains(t, byName, info.GetName(), "cycle %d: two VMs named %q", cycle, info.GetName())
		listed[info.GetId()] = info
		byName[info.GetName()] = info
	}

	book.mu.Lock()
	defer book.mu.Unlock()

	// A create that was never answered may or may not have happened; if it did, it is whole.
	for name, want := range book.pending {
		if info, ok := byName[name]; ok {
			got := spec{CPU: info.GetCpu(), MemoryMiB: info.GetMemoryMib()}
			assert.Equal(t, want, got, "cycle %d: unacknowledged create of %s landed with another spec", cycle, name)
			book.vms[info.GetId()] = &vmState{id: info.GetId(), name: name, allowed: []spec{got}}
		}
	}
	clear(book.pending)

	for id, vm := range book.vms {
		info, ok := listed[id]
		if !ok {
			if vm.deleting { // the unacknowledged delete happened
				delete(book.vms, id)
				book.deleted[id] = vm.name
				continue
			}
			t.Errorf("cycle %d: acknowledged VM %s (%s) is missing from ListVMs after the crash", cycle, id, vm.name)
			delete(book.vms, id)
			continue
		}
		got := spec{CPU: info.GetCpu(), MemoryMiB: info.GetMemoryMib()}
		assert.Equal(t, vm.name, info.GetName(), "cycle %d: VM %s renamed", cycle, id)
		assert.Contains(t, vm.allowed, got, "cycle %d: VM %s has a spec no acknowledged or pending write gave it", cycle, id)
		vm.allowed, vm.busy, vm.deleting = []spec{got}, false, false

		d, err := c.v1.Describe(ctx, &providerv1.DescribeRequest{Id: id})
		require.NoError(t, err, "cycle %d: Describe %s", cycle, id)
		assert.True(t, d.GetExists(), "cycle %d: ListVMs has %s but Describe says it does not exist", cycle, id)
		assert.True(t, json.Valid([]byte(d.GetProviderRawJson())), "cycle %d: Describe %s raw JSON unreadable", cycle, id)
	}

	for id, name := range book.deleted {
		assert.NotContains(t, listed, id, "cycle %d: acknowledged delete of %s (%s) undone by the crash", cycle, id, name)
		d, err := c.v1.Describe(ctx, &providerv1.DescribeRequest{Id: id})
		require.NoError(t, err)
		assert.False(t, d.GetExists(), "cycle %d: Describe finds deleted VM %s", cycle, id)
	}
	for id, info := range listed {
		if _, known := book.vms[id]; !known {
			t.Errorf("cycle %d: VM %s (%s) appeared without any create naming it", cycle, id, info.GetName())
		}
	}

	checkStorageFiles(t, dir, listed, cycle)
}

// checkStorageFiles looks at the directory itself: only the store's own names, every VM file
// decodes and belongs to a listed VM, and no half-written temporary file survived start-up.
func checkStorageFiles(t testing.TB, dir string, listed map[string]*providerv1.VMInfo, cycle int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case name == ".lock":
		case strings.HasSuffix(name, ".json") && e.Type().IsRegular():
			id := strings.TrimSuffix(name, ".json")
			assert.Contains(t, listed, id, "cycle %d: %s is on disk but not served", cycle, name)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, json.Valid(data), "cycle %d: %s is not valid JSON", cycle, name)
		case strings.HasSuffix(name, ".snapshots") && e.IsDir():
			id := strings.TrimSuffix(name, ".snapshots")
			assert.Contains(t, listed, id, "cycle %d: snapshot directory %s outlived its VM", cycle, name)
			snaps, err := os.ReadDir(path)
			require.NoError(t, err)
			for _, s := range snaps {
				assert.True(t, strings.HasSuffix(s.Name(), ".json"), "cycle %d: stray %s/%s", cycle, name, s.Name())
				data, err := os.ReadFile(filepath.Join(path, s.Name()))
				require.NoError(t, err)
				assert.True(t, json.Valid(data), "cycle %d: %s/%s is not valid JSON", cycle, name, s.Name())
			}
		default:
			t.Errorf("cycle %d: unexpected %s in the storage directory", cycle, name)
		}
	}
}

// isKillError reports errors that a killed server causes on the client side.
func isKillError(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}
