package steps

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/steps/driver"
)

// recorder is a driver that only records deletes and lists a fixed set of VMs.
type recorder struct {
	driver.Driver // nil: any other call panics, which would show a test reaching too far
	mu            sync.Mutex
	calls         []string
	listed        []driver.VM
	deleteErr     map[string]error
	keep          bool // Delete answers OK and the VM stays listed
	staleList     bool // ... but only in ListVMs: Describe says it is gone
}

func (r *recorder) Dialect() string                        { return "recorder" }
func (r *recorder) Supports(driver.Feature) (bool, string) { return true, "" }

func (r *recorder) Delete(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "Delete "+id)
	if err := r.deleteErr[id]; err != nil || r.keep {
		return err
	}
	kept := r.listed[:0:0]
	for _, vm := range r.listed {
		if vm.ID != id {
			kept = append(kept, vm)
		}
	}
	r.listed = kept
	return nil
}

func (r *recorder) SnapshotDelete(_ context.Context, vmID, snapID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "SnapshotDelete "+vmID+"/"+snapID)
	return nil
}

func (r *recorder) Describe(_ context.Context, id string) (driver.Description, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "Describe "+id)
	if r.staleList {
		return driver.Description{}, nil
	}
	for _, vm := range r.listed {
		if vm.ID == id {
			return driver.Description{Exists: true}, nil
		}
	}
	return driver.Description{}, nil
}

func (r *recorder) List(context.Context) ([]driver.VM, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "List")
	return r.listed, nil
}

var testTimeouts = driver.Timeouts{Call: time.Second, Task: time.Second}

func TestCleanupDeletesNewestFirstAndSweepsLeftovers(t *testing.T) {
	d := &recorder{
		listed: []driver.VM{
			{ID: "vm-escaped", Name: "run-x-z"}, // a create that timed out but happened
			{ID: "vm-other", Name: "other-run"}, // not ours
		},
		deleteErr: map[string]error{"vm-b": status.Error(codes.NotFound, "gone")},
	}
	r := newResources(d, "run-x-")
	r.addVM("vm-a", "run-x-a")
	r.addSnapshot("vm-a", "s1")
	r.addVM("vm-b", "run-x-b")
	r.addVM("vm-c", "run-x-c")
	r.vmDeleted("vm-c") // the scenario deleted it itself
	r.addVM("", "run-x-empty")
	if err := r.cleanup(context.Background(), testTimeouts); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	want := []string{"Delete vm-b", "SnapshotDelete vm-a/s1", "Delete vm-a", "List", "Delete vm-escaped", "List"}
	if strings.Join(d.calls, ", ") != strings.Join(want, ", ") {
		t.Fatalf("calls %v, want %v", d.calls, want)
	}
	// A second cleanup has nothing registered left.
	d.calls, d.listed = nil, nil
	if err := r.cleanup(context.Background(), testTimeouts); err != nil || strings.Join(d.calls, ",") != "List" {
		t.Fatalf("second cleanup: calls %v, err %v", d.calls, err)
	}
}

func TestCleanupReportsWhatItCouldNotDelete(t *testing.T) {
	d := &recorder{deleteErr: map[string]error{"vm-a": status.Error(codes.Internal, "disk on fire")}}
	r := newResources(d, "run-x-")
	r.addVM("vm-a", "run-x-a")
	err := r.cleanup(context.Background(), testTimeouts)
	if err == nil || !strings.Contains(err.Error(), `Delete(id="vm-a")`) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("cleanup error %v, want the failed delete named", err)
	}
}

func TestCleanupNamesVMsADeleteKept(t *testing.T) {
	d := &recorder{keep: true, listed: []driver.VM{{ID: "vm-a", Name: "run-x-a"}, {ID: "vm-other", Name: "other-run"}}}
	r := newResources(d, "run-x-")
	r.addVM("vm-a", "run-x-a")
	err := r.cleanup(context.Background(), testTimeouts)
	if err == nil || !strings.Contains(err.Error(), `still present after Delete answered OK: run-x-a (id "vm-a")`) ||
		strings.Contains(err.Error(), "other-run") {
		t.Fatalf("cleanup error %v, want the kept VM named, and only it", err)
	}
}

func TestCleanupIgnoresAListThatKeepsDeletedVMs(t *testing.T) {
	// A stale ListVMs fails its own rules (CORE-029); cleanup has nothing left to delete.
	d := &recorder{keep: true, staleList: true, listed: []driver.VM{{ID: "vm-a", Name: "run-x-a"}}}
	r := newResources(d, "run-x-")
	r.addVM("vm-a", "run-x-a")
	if err := r.cleanup(context.Background(), testTimeouts); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
}

func TestSuiteCleanupCoversRunningScenarios(t *testing.T) {
	d := &recorder{listed: []driver.VM{{ID: "vm-late", Name: "run-y-core-001-abcde-vm"}}}
	cfg := NewConfig()
	cfg.Driver, cfg.RunID = d, "run-y"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	open := newResources(d, "run-y-core-002-fghij-")
	open.addVM("vm-open", "run-y-core-002-fghij-vm")
	s.open[open] = struct{}{}
	if err := s.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(d.calls, ", ")
	for _, want := range []string{"Delete vm-open", "Delete vm-late"} {
		if !strings.Contains(got, want) {
			t.Errorf("Suite.Cleanup calls %s, want %s among them", got, want)
		}
	}
}

func TestNewValidatesAndDefaults(t *testing.T) {
	d := &recorder{}
	ok := NewConfig()
	ok.Driver = d
	for name, mutate := range map[string]func(*Config){
		"no driver":        func(c *Config) { c.Driver = nil },
		"upper-case run":   func(c *Config) { c.RunID = "Run" },
		"long run id":      func(c *Config) { c.RunID = strings.Repeat("a", 25) },
		"unknown profile":  func(c *Config) { c.Profiles = map[string]string{"core": "", "hotplug": ""} },
		"negative repeats": func(c *Config) { c.IdempotentCount = -1 },
		"negative timeout": func(c *Config) { c.CallTimeout = -time.Second },
		"zero memory spec": func(c *Config) { c.VMSpec = driver.Spec{CPU: 1} },
	} {
		c := ok
		c.Profiles = map[string]string{"core": ""}
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	s, err := New(Config{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.IdempotentCount != DefaultIdempotentCount || c.ParallelCreates != DefaultParallelCreates ||
		c.CallTimeout != DefaultCallTimeout || c.TaskTimeout != DefaultTaskTimeout ||
		c.VMSpec != DefaultVMSpec || c.Results == nil || !runIDPattern.MatchString(c.RunID) ||
		len(c.Profiles) != 3 || c.UnknownTaskID == "" {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestNamesAreValidForProviders(t *testing.T) {
	st := &scenario{prefix: scenarioPrefix(strings.Repeat("r", 24), "CLONE-011")}
	for _, alias := range []string{"vm", "Source VM", "a_very_long_alias_that_goes_on_and_on_and_on", "!!"} {
		n := st.vmName(alias)
		if len(n) > 63 || !validName(n) {
			t.Errorf("vmName(%q) = %q: not a valid provider name", alias, n)
		}
	}
	if a, b := scenarioPrefix("run", "CORE-001"), scenarioPrefix("run", "CORE-001"); a == b {
		t.Errorf("two scenarios of one requirement got the same prefix %q", a)
	}
}

func validName(n string) bool {
	for _, c := range n {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return n != "" && n[0] != '-' && n[len(n)-1] != '-'
}
