package steps_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/vctsio/vcts/internal/brokenprovider"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/steps/driver"
)

// stressRuns is how many times in a row TestStress runs the whole suite. make test runs it
// once (one extra run is cheap); CI's stress job asks for 20, with the race detector on:
//
//	CGO_ENABLED=1 go test -race -count=1 -run '^TestStress$' -timeout 30m ./steps -stress.runs=20
var stressRuns = flag.Int("stress.runs", 1, "how many times in a row TestStress runs the whole suite in both dialects")

// TestStress runs the whole suite -stress.runs times in a row against one healthy file
// provider. Each round runs both dialects at the same time, each with godog's concurrency (4
// by default), so two runs share the provider as they would in a shared CI environment. Every
// round must pass exactly as TestConformance does and leave nothing behind; the first failing
// round ends the test, since the point is "N times in a row".
func TestStress(t *testing.T) {
	if *stressRuns < 1 {
		t.Fatalf("-stress.runs must be at least 1, got %d", *stressRuns)
	}
	needs := requirementNeeds(t)
	p := serve(t, brokenprovider.Healthy)
	var total time.Duration
	for i := 1; i <= *stressRuns; i++ {
		start := time.Now()
		ok := t.Run(fmt.Sprintf("round-%02d", i), func(t *testing.T) {
			for _, dialect := range driver.Dialects() {
				t.Run(dialect, func(t *testing.T) {
					t.Parallel()
					d, err := driver.New(dialect, p.conn)
					if err != nil {
						t.Fatal(err)
					}
					r := runSuite(t, d, "", nil)
					checkRun(t, r, p, brokenExpectation{}, needs)
					t.Logf("%s: %d scenarios in %s", dialect, len(r.scenarios), r.elapsed.Round(time.Millisecond))
				})
			}
		})
		elapsed := time.Since(start)
		total += elapsed
		t.Logf("round %d of %d: %s", i, *stressRuns, elapsed.Round(time.Millisecond))
		if !ok {
			t.Fatalf("round %d of %d failed; %d in a row passed", i, *stressRuns, i-1)
		}
	}
	if n := vmCount(t, p.real); n != 0 {
		t.Errorf("the provider holds %d VMs after %d clean rounds, want 0", n, *stressRuns)
	}
	t.Logf("%d rounds in a row passed in %s (%s per round)", *stressRuns, total.Round(time.Millisecond),
		(total / time.Duration(*stressRuns)).Round(time.Millisecond))
}

func vmCount(t *testing.T, real providerv1.ProviderServer) int {
	t.Helper()
	list, err := real.ListVMs(context.Background(), &providerv1.ListVMsRequest{})
	if err != nil {
		t.Fatalf("ListVMs on the real provider: %v", err)
	}
	return len(list.GetVms())
}
