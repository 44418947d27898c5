package steps_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/brokenprovider"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/steps/driver"
)

// v1NoOnlineReconfigure answers GetCapabilities with supports_reconfigure_online=false.
type v1NoOnlineReconfigure struct{ providerv1.ProviderServer }

func (w v1NoOnlineReconfigure) GetCapabilities(ctx context.Context, req *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*providerv1.GetCapabilitiesResponse)
	resp.SupportsReconfigureOnline = false
	return resp, nil
}

// tutNoUpdate lists vm.update as not supported: the tutorial API's only word for it.
type tutNoUpdate struct {
	tutorialv1.ProviderServiceServer
}

func (w tutNoUpdate) GetCapabilities(ctx context.Context, req *tutorialv1.GetCapabilitiesRequest) (*tutorialv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServiceServer.GetCapabilities(ctx, req)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*tutorialv1.GetCapabilitiesResponse)
	for _, c := range resp.GetCapabilities() {
		if c.GetName() == "vm.update" {
			c.Supported = false
		}
	}
	return resp, nil
}

// TestOnlineReconfigureRuleFollowsTheCapability: a provider that stops a running VM to
// reconfigure it is conformant when it says so (CORE-039 passes, nothing is skipped, so core
// can still be a full pass); the same provider advertising online reconfigure fails CORE-039
// (the broken matrix's reconfigure-leaves-vm-off row).
func TestOnlineReconfigureRuleFollowsTheCapability(t *testing.T) {
	leavesOff := brokenprovider.MustGet("reconfigure-leaves-vm-off")
	honest := brokenprovider.Defect{
		Name: "reconfigure-offline-and-says-so",
		V1: func(p providerv1.ProviderServer) providerv1.ProviderServer {
			return v1NoOnlineReconfigure{leavesOff.V1(p)}
		},
		Tutorial: func(p tutorialv1.ProviderServiceServer) tutorialv1.ProviderServiceServer {
			return tutNoUpdate{leavesOff.Tutorial(p)}
		},
	}
	for _, dialect := range driver.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r, _ := serveAndRun(t, dialect, honest, "@CORE-039,@CORE-025", nil)
			if r.status != 0 {
				t.Errorf("godog exit status %d, want 0", r.status)
			}
			seen := map[string]bool{}
			for _, sc := range r.scenarios {
				seen[sc.Requirement] = true
				switch sc.Requirement {
				case "CORE-039":
					if sc.Status != results.Passed {
						t.Errorf("CORE-039: %s (%s), want passed: leaving the VM Off is allowed without online reconfigure", sc.Status, sc.Reason)
					}
					t.Logf("CORE-039 %s: %s", sc.Status, sc.Reason)
				default:
					// The capability only gates the power rule; reconfigure itself still runs.
					if sc.Status != results.Passed {
						t.Errorf("%s %s: %s (%s), want passed", sc.Requirement, sc.Name, sc.Status, sc.Reason)
					}
				}
			}
			if !seen["CORE-039"] || !seen["CORE-025"] {
				t.Errorf("scenarios recorded: %v, want CORE-039 and CORE-025", seen)
			}
			if t.Failed() {
				t.Logf("godog output:\n%s", r.output)
			}
		})
	}
}
