// Package brokenprovider breaks the reference file provider one rule at a time, so that tests
// can prove the conformance suite notices. Each Defect wraps the provider's real v1 server
// (providerv1.ProviderServer) and/or its tutorial server (tutorialv1.ProviderServiceServer):
// the wrapper embeds the real server and overrides the one or two methods that carry the bug,
// imitating a mistake real providers shipped (reading the wrong JSON keys, answering Internal
// for a client mistake, a list served from a stale cache, ...).
//
// Use it by registering the file provider through a Registrar:
//
//	reg := brokenprovider.NewRegistrar(grpcServer, brokenprovider.MustGet("reboot-leaves-off"))
//	fileProvider.Register(reg)
//	real := reg.V1() // the unbroken server: the truth about what the provider holds
//
// Every wrapper is safe for concurrent use; a Defect's constructors build fresh state for
// every server they wrap, so one Defect can serve many tests at once.
package brokenprovider

import (
	"fmt"
	"sync"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// Family names the group of rules a defect breaks; it follows the contract's sections.
type Family string

// The requirement families of the contract.
const (
	Capabilities Family = "capabilities"
	Validate     Family = "validate"
	Create       Family = "create"
	Describe     Family = "describe"
	List         Family = "list"
	Power        Family = "power"
	Reconfigure  Family = "reconfigure"
	Delete       Family = "delete"
	Tasks        Family = "tasks"
	ErrorCodes   Family = "error-codes"
	Robustness   Family = "robustness"
	Snapshot     Family = "snapshot"
	Clone        Family = "clone"
)

// Families lists every family in the contract's order.
func Families() []Family {
	return []Family{Capabilities, Validate, Create, Describe, List, Power, Reconfigure, Delete,
		Tasks, ErrorCodes, Robustness, Snapshot, Clone}
}

// Defect is one broken rule. V1 and Tutorial are nil when the dialect cannot express the bug
// (the tutorial API has no JSON payloads, tasks or Validate, for instance).
type Defect struct {
	// Name is short, unique and stable, e.g. "reboot-leaves-off".
	Name   string
	Family Family
	// Bug says what the provider does wrong, in the words of a bug report.
	Bug string

	V1       func(providerv1.ProviderServer) providerv1.ProviderServer
	Tutorial func(tutorialv1.ProviderServiceServer) tutorialv1.ProviderServiceServer
	// Health, when set, replaces the server's grpc.health.v1 service (which the wire facts
	// promise for v1 providers); register it with RegisterHealth.
	Health func() healthpb.HealthServer
}

// Healthy is the zero Defect: a Registrar with it registers the real servers unchanged.
var Healthy = Defect{Name: "healthy"}

// Get returns the catalogued defect of that name.
func Get(name string) (Defect, bool) {
	for _, d := range Catalog() {
		if d.Name == name {
			return d, true
		}
	}
	return Defect{}, false
}

// MustGet is Get for names written in code; an unknown name is a programming error.
func MustGet(name string) Defect {
	d, ok := Get(name)
	if !ok {
		panic(fmt.Sprintf("brokenprovider: no defect named %q", name))
	}
	return d
}

// Registrar is a grpc.ServiceRegistrar that puts a defect's wrappers in front of the
// provider's v1 and tutorial services and keeps the real ones for the test to consult.
type Registrar struct {
	next   grpc.ServiceRegistrar
	defect Defect

	mu       sync.Mutex
	v1       providerv1.ProviderServer
	tutorial tutorialv1.ProviderServiceServer
}

// NewRegistrar registers on next, breaking what d breaks.
func NewRegistrar(next grpc.ServiceRegistrar, d Defect) *Registrar {
	return &Registrar{next: next, defect: d}
}

// RegisterService implements grpc.ServiceRegistrar.
func (r *Registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	switch desc.ServiceName {
	case providerv1.Provider_ServiceDesc.ServiceName:
		real, ok := impl.(providerv1.ProviderServer)
		if ok {
			r.mu.Lock()
			r.v1 = real
			r.mu.Unlock()
			if r.defect.V1 != nil {
				impl = r.defect.V1(real)
			}
		}
	case tutorialv1.ProviderService_ServiceDesc.ServiceName:
		real, ok := impl.(tutorialv1.ProviderServiceServer)
		if ok {
			r.mu.Lock()
			r.tutorial = real
			r.mu.Unlock()
			if r.defect.Tutorial != nil {
				impl = r.defect.Tutorial(real)
			}
		}
	}
	r.next.RegisterService(desc, impl)
}

// RegisterHealth registers the defect's own health service, if it has one; a server without
// one gets the standard health service from whoever serves it (grpctest.Serve, the kit).
func (r *Registrar) RegisterHealth() {
	if r.defect.Health != nil {
		healthpb.RegisterHealthServer(r.next, r.defect.Health())
	}
}

// V1 is the real, unwrapped v1 server (nil before the provider registered it).
func (r *Registrar) V1() providerv1.ProviderServer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.v1
}

// Tutorial is the real, unwrapped tutorial server (nil before the provider registered it).
func (r *Registrar) Tutorial() tutorialv1.ProviderServiceServer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tutorial
}
