package brokenprovider

import (
	"fmt"
	"path"
	"strings"
	"sync"
	"time"
)

// The bookkeeping some bugs need: a wrapper that "forgets" to update a view has to remember
// the old value somewhere. Each type is safe for concurrent use.

// duplicateNames hands out a fresh provider-side name for every create of a name after the
// first, and remembers which name each resulting VM should be shown under, so that a provider
// that is not idempotent by name can be imitated on top of one that is.
type duplicateNames struct {
	mu      sync.Mutex
	creates map[string]int
	shown   map[string]string // VM id → the name the client asked for
}

func newDuplicateNames() *duplicateNames {
	return &duplicateNames{creates: map[string]int{}, shown: map[string]string{}}
}

// next returns the name to create under: name itself the first time, a variant afterwards.
func (d *duplicateNames) next(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.creates[name]
	d.creates[name]++
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s-dup%d", name, n)
}

func (d *duplicateNames) show(id, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.shown[id] = name
}

// name is the name a VM is shown under, or real when it was not renamed.
func (d *duplicateNames) name(id, real string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.shown[id]; ok {
		return n
	}
	return real
}

// ghosts are list entries of deleted VMs that a stale list keeps showing, in deletion order.
type ghosts[T any] struct {
	mu    sync.Mutex
	order []string
	byID  map[string]T
}

func (g *ghosts[T]) add(id string, entry T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byID == nil {
		g.byID = map[string]T{}
	}
	if _, ok := g.byID[id]; !ok {
		g.order = append(g.order, id)
	}
	g.byID[id] = entry
}

func (g *ghosts[T]) all() []T {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]T, 0, len(g.order))
	for _, id := range g.order {
		out = append(out, g.byID[id])
	}
	return out
}

// idSet is a set of ids (tasks, VMs).
type idSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *idSet) add(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	s.ids[id] = true
}

func (s *idSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// clones remembers which VMs were cloned from which source.
type clones struct {
	mu       sync.Mutex
	bySource map[string][]string
}

func (c *clones) add(source, clone string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bySource == nil {
		c.bySource = map[string][]string{}
	}
	c.bySource[source] = append(c.bySource[source], clone)
}

func (c *clones) of(source string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bySource[source]...)
}

// hardware is CPU and memory as a cache holds them.
type hardware struct {
	cpu       int32
	memoryMiB int64
}

// hardwareCache keeps the hardware a VM had when the provider first learnt of it: the
// inventory cache that nobody refreshes.
type hardwareCache struct {
	mu   sync.Mutex
	byID map[string]hardware
}

// keep stores hw for id unless the cache already has an entry (a repeated create changes
// nothing, so it refreshes nothing either).
func (c *hardwareCache) keep(id string, hw hardware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[string]hardware{}
	}
	if _, ok := c.byID[id]; !ok {
		c.byID[id] = hw
	}
}

// set stores hw for id, replacing what the cache had.
func (c *hardwareCache) set(id string, hw hardware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[string]hardware{}
	}
	c.byID[id] = hw
}

func (c *hardwareCache) get(id string) (hardware, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hw, ok := c.byID[id]
	return hw, ok
}

// snapshotOwners remembers, for each snapshot, the name of the VM it was taken of, and which
// snapshots outlived their VM.
type snapshotOwners struct {
	mu       sync.Mutex
	vmOf     map[string]string // snapshot id → VM id
	nameOf   map[string]string // VM id → VM name
	orphaned map[string]string // snapshot id → name of the deleted VM it belonged to
}

func newSnapshotOwners() *snapshotOwners {
	return &snapshotOwners{vmOf: map[string]string{}, nameOf: map[string]string{}, orphaned: map[string]string{}}
}

func (o *snapshotOwners) taken(snapID, vmID, vmName string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.vmOf[snapID] = vmID
	o.nameOf[vmID] = vmName
}

// vmDeleted keeps the VM's snapshots as orphans under the VM's name.
func (o *snapshotOwners) vmDeleted(vmID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.nameOf[vmID]
	if !ok {
		return
	}
	for snap, vm := range o.vmOf {
		if vm == vmID {
			o.orphaned[snap] = name
		}
	}
}

// orphanOf reports the name of the deleted VM a snapshot outlived.
func (o *snapshotOwners) orphanOf(snapID string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.orphaned[snapID]
	return name, ok
}

// latestSnapshot maps a VM id to the one real snapshot a one-snapshot-per-VM provider keeps.
type latestSnapshot struct {
	mu   sync.Mutex
	byVM map[string]string
}

func (l *latestSnapshot) set(vmID, snapID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byVM == nil {
		l.byVM = map[string]string{}
	}
	l.byVM[vmID] = snapID
}

// resolve turns the id the client holds (a VM id) into the real snapshot id; unknown ids are
// passed on unchanged so that the real provider judges them.
func (l *latestSnapshot) resolve(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if real, ok := l.byVM[id]; ok {
		return real
	}
	return id
}

func (l *latestSnapshot) forget(vmID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byVM, vmID)
}

// collider imitates a provider that allocates ids outside its lock (read a counter, call the
// hypervisor, store the record under the id read before): creates that overlap in time get
// the id of the create that started first and overwrite its record, so their own VMs are lost.
// Identical creates (idempotent by name) already share one id and are not disturbed. Every
// create lingers for window first, as a slow hypervisor call would, so that creates sent
// together do overlap.
type collider struct {
	window time.Duration

	mu       sync.Mutex
	inflight int
	leader   *leaderCreate // the first of the creates in flight
}

type leaderCreate struct {
	done chan struct{} // closed when id is set
	id   string
}

// create runs do (the real create) and, for a create that overlapped the leader's, undoes
// what it made and answers the leader's id instead.
func (c *collider) create(do func() (string, error), undo func(id string)) (string, error) {
	c.mu.Lock()
	if c.inflight == 0 {
		c.leader = &leaderCreate{done: make(chan struct{})}
	}
	c.inflight++
	lead, isLeader := c.leader, c.inflight == 1
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()

	time.Sleep(c.window)
	id, err := do()
	if isLeader {
		if err == nil {
			lead.id = id
		}
		close(lead.done)
		return id, err
	}
	<-lead.done
	if err != nil || lead.id == "" || lead.id == id {
		return id, err
	}
	undo(id)
	return lead.id, nil
}

// pathID is what a provider that keeps each VM in <dir>/<id>.json and never checks ids makes
// of a client's id: the file system ends the name at a NUL byte (as C does) and
// filepath.Join cleans the path, so "./ID", "x/../ID" and "ID\x00" all name the file of ID.
// The empty id is left alone (its own rule catches that).
func pathID(id string) string {
	if id == "" {
		return id
	}
	if i := strings.IndexByte(id, 0); i >= 0 {
		id = id[:i]
	}
	return strings.TrimPrefix(path.Clean("/"+id), "/")
}

// nameIDs remembers the id a name last belonged to.
type nameIDs struct {
	mu   sync.Mutex
	byID map[string]string // name → id
}

func (n *nameIDs) set(name, id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byID == nil {
		n.byID = map[string]string{}
	}
	n.byID[name] = id
}

func (n *nameIDs) get(name string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id, ok := n.byID[name]
	return id, ok
}

// owners remembers which VM each snapshot was taken of.
type owners struct {
	mu   sync.Mutex
	byID map[string]string // snapshot id → VM id
}

func (o *owners) set(snapID, vmID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byID == nil {
		o.byID = map[string]string{}
	}
	o.byID[snapID] = vmID
}

func (o *owners) get(snapID string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, ok := o.byID[snapID]
	return id, ok
}
