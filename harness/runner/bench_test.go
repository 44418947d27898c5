package runner

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
)

// BenchmarkTimeToVerdict measures a whole conformance run (all three profiles) against the
// file provider with zero transition delay, per target. Reported per run:
//
//	suite-ms  the scenarios themselves (godog start to verdict), the ≤1s goal
//	start-ms  bringing the provider up (process: spawn + SERVING; container: create + start)
//	total-ms  wall time from Run to the written verdict, provider stop included
//
// go test -run '^$' -bench TimeToVerdict -benchtime 5x ./harness/runner/
func BenchmarkTimeToVerdict(b *testing.B) {
	b.Run("process-binary", func(b *testing.B) {
		root, err := target.ModuleRoot()
		if err != nil {
			b.Fatal(err)
		}
		bin := filepath.Join(b.TempDir(), "provider-file")
		buildProvider(b, root, bin)
		benchRun(b, func(testing.TB) config.File {
			return finalized(b, func(f *config.File) { f.Target.ProviderBin = bin })
		}, nil)
	})
	b.Run("process-in-process", func(b *testing.B) {
		benchRun(b, func(testing.TB) config.File { return finalized(b, nil) },
			func() target.Target { return &target.Process{Mode: target.ModeInProcess} })
	})
	b.Run("container", func(b *testing.B) {
		image := providerImage(b)
		benchRun(b, func(testing.TB) config.File {
			return finalized(b, func(f *config.File) { f.Target.Kind = config.TargetContainer; f.Target.Image = image })
		}, nil)
	})
}

func benchRun(b *testing.B, cfg func(testing.TB) config.File, tgt func() target.Target) {
	var suite, start, total time.Duration
	b.ResetTimer()
	for range b.N {
		o := Options{Config: cfg(b)}
		if tgt != nil {
			o.Target = tgt()
		}
		began := time.Now()
		res, err := Run(context.Background(), o)
		total += time.Since(began)
		if err != nil {
			b.Fatal(err)
		}
		if res.Report.Verdict != results.VerdictPass {
			b.Fatalf("verdict %s: %v %v", res.Report.Verdict, failures(res.Report), res.Report.Problems)
		}
		suite += res.Report.Timings.Suite
		start += res.Report.Timings.TargetStart
	}
	n := float64(b.N)
	b.ReportMetric(float64(suite.Milliseconds())/n, "suite-ms")
	b.ReportMetric(float64(start.Milliseconds())/n, "start-ms")
	b.ReportMetric(float64(total.Milliseconds())/n, "total-ms")
}
