// Package results holds what a conformance run observed, scenario by scenario, and the
// verdicts derived from it. The step definitions write into a Collector; the runner turns the
// collected scenarios into a Report; every report format (JUnit, HTML, badge, ...) reads only
// the Report.
package results

import (
	"sync"
	"time"
)

// Status is the outcome of one scenario or requirement.
type Status string

const (
	Passed Status = "passed"
	Failed Status = "failed"
	// Skipped: the scenario did not run; Reason says why (capability not offered, dialect
	// cannot express the rule, profile not selected).
	Skipped Status = "skipped"
	// KnownFailing: listed in the known-failing file and did fail, as expected.
	KnownFailing Status = "known-failing"
	// StaleKnownFailing: listed in the known-failing file but passed; the run fails.
	StaleKnownFailing Status = "stale-known-failing"
)

// Scenario is one executed (or skipped) scenario. Scenario Outline examples are separate
// Scenarios sharing one Requirement.
type Scenario struct {
	Requirement string        `json:"requirement"` // e.g. CORE-001
	Profile     string        `json:"profile"`     // core, snapshot or clone
	Feature     string        `json:"feature"`     // feature name
	Name        string        `json:"name"`        // scenario name (with the example values for outlines)
	Tags        []string      `json:"tags,omitempty"`
	Status      Status        `json:"status"`
	Reason      string        `json:"reason,omitempty"` // failure message or skip reason
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration"`
}

// Collector gathers scenarios from concurrently running scenarios.
type Collector struct {
	mu        sync.Mutex
	scenarios []Scenario
	// notifyMu serialises listeners so they see scenarios one at a time, in recording order,
	// without holding mu (a listener may call Scenarios).
	notifyMu  sync.Mutex
	listeners []func(Scenario)
}

// Add records one scenario result and tells the listeners.
func (c *Collector) Add(s Scenario) {
	c.notifyMu.Lock()
	defer c.notifyMu.Unlock()
	c.mu.Lock()
	c.scenarios = append(c.scenarios, s)
	listeners := append(([]func(Scenario))(nil), c.listeners...)
	c.mu.Unlock()
	for _, fn := range listeners {
		fn(s)
	}
}

// OnAdd registers fn to be called with every scenario recorded from now on (the live
// progress of the CLI). Calls never overlap.
func (c *Collector) OnAdd(fn func(Scenario)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, fn)
}

// Scenarios returns a copy of everything recorded so far, in recording order.
func (c *Collector) Scenarios() []Scenario {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Scenario(nil), c.scenarios...)
}
