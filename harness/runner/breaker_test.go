package runner

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/grpctest"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

func TestBreakerOpensAfterUnansweredCallsAndProbes(t *testing.T) {
	clock := time.Unix(0, 0)
	b := newBreaker(context.Background())
	b.now = func() time.Time { return clock }
	answering := false
	invoke := func(ctx context.Context, method string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		if answering {
			return status.Error(codes.NotFound, "no such vm")
		}
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	call := func(method string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		return b.interceptor(ctx, method, nil, nil, nil, invoke)
	}

	for i := range breakerThreshold {
		assert.Equal(t, codes.DeadlineExceeded, status.Code(call("/provider.v1.Provider/Create")), "call %d goes through", i)
	}
	err := call("/provider.v1.Provider/ListVMs")
	assert.Equal(t, codes.Unavailable, status.Code(err), "open: refused at once")
	assert.Contains(t, err.Error(), "the first: /provider.v1.Provider/Create")
	assert.Contains(t, b.tripped(), "3 calls in a row got no answer")

	// A caller's own cancellation says nothing about the provider.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.record("/x", clock, status.Error(codes.Canceled, "cancelled"), ctx.Err())
	assert.Equal(t, codes.Unavailable, status.Code(call("/x")))

	// After breakerProbeEvery one call is let through; an answer, even an error, closes it.
	clock = clock.Add(breakerProbeEvery)
	answering = true
	assert.Equal(t, codes.NotFound, status.Code(call("/provider.v1.Provider/Describe")))
	assert.Equal(t, codes.NotFound, status.Code(call("/provider.v1.Provider/Describe")), "closed again")
	assert.NotEmpty(t, b.tripped(), "the report still says it happened")
}

// Calls that end because the run ended (out of tests.timeout) are the suite's doing.
func TestBreakerIgnoresCallsTheRunsEndCut(t *testing.T) {
	run, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	b := newBreaker(run)
	invoke := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	for range 2 * breakerThreshold {
		_ = b.interceptor(run, "/m", nil, nil, nil, invoke)
	}
	assert.Empty(t, b.tripped(), "the run's own deadline is no unanswered call")
}

func TestBreakerIgnoresSlowButAnsweringCalls(t *testing.T) {
	b := newBreaker(context.Background())
	n := 0
	invoke := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		n++
		if n%2 == 0 {
			return nil
		}
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = b.interceptor(ctx, "/m", nil, nil, nil, invoke)
		cancel()
	}
	assert.Empty(t, b.tripped(), "every other call answered: never three misses in a row")
}

// hungProvider answers health and capabilities, then nothing else.
type hungProvider struct {
	providerv1.UnimplementedProviderServer
}

func (hungProvider) GetCapabilities(context.Context, *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	return &providerv1.GetCapabilitiesResponse{}, nil
}

func (hungProvider) hang(ctx context.Context) error {
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

func (p hungProvider) Create(ctx context.Context, _ *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	return nil, p.hang(ctx)
}

func (p hungProvider) ListVMs(ctx context.Context, _ *providerv1.ListVMsRequest) (*providerv1.ListVMsResponse, error) {
	return nil, p.hang(ctx)
}

func (p hungProvider) Describe(ctx context.Context, _ *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	return nil, p.hang(ctx)
}

func (p hungProvider) Validate(ctx context.Context, _ *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	return nil, p.hang(ctx)
}

func TestHungProviderFailsFastWithTheReason(t *testing.T) {
	srv := grpc.NewServer()
	providerv1.RegisterProviderServer(srv, hungProvider{})
	healthpb.RegisterHealthServer(srv, grpctest.Health())

	cfg := endpointConfig(t, grpctest.Serve(t, srv), func(f *config.File) {
		f.Tests.CallTimeout = config.Duration(100 * time.Millisecond)
		f.Tests.TaskTimeout = config.Duration(100 * time.Millisecond)
	})
	began := time.Now()
	res, err := Run(context.Background(), Options{Config: cfg, CleanupTimeout: 5 * time.Second})
	require.NoError(t, err)
	r := res.Report
	assert.Equal(t, results.VerdictFail, r.Verdict)
	// Which hung call came first depends on scheduling (the id probe's Create, a scenario's
	// ListVMs, ...); the problem names one of the provider's methods.
	tripped := regexp.MustCompile(`^the provider stopped answering: 3 calls in a row got no answer within their deadlines ` +
		`\(the first: /provider\.v1\.Provider/(Create|ListVMs|Describe|Validate)\); further calls failed at once instead of waiting, with a retry every 5s$`)
	assert.True(t, slices.ContainsFunc(r.Problems, tripped.MatchString), "problems: %q", r.Problems)
	refused := 0
	for _, q := range r.Requirements {
		if q.Status == results.Failed && strings.Contains(q.Reason, "vcts: not calling the provider") {
			refused++
		}
	}
	assert.Positive(t, refused, "later requirements fail at once, saying why")
	t.Logf("%d scenarios against a hung provider in %s", len(r.Scenarios), time.Since(began).Round(time.Millisecond))
}
