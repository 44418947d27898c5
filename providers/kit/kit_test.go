package kit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The HTTP client's idle keep-alive connections outlive the tests that used them.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

func TestHealthServingForEmptyAndProvider(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := healthpb.NewHealthClient(dialPlain(t, r.srv.GRPCAddr().String()))
	ctx := t.Context()

	for _, service := range []string{"", HealthService} {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err, "service %q", service)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), "service %q", service)
	}
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	assert.Equal(t, codes.NotFound, status.Code(err))
}

func TestReflectionListsServices(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := reflectionpb.NewServerReflectionClient(dialPlain(t, r.srv.GRPCAddr().String()))

	stream, err := client.ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.NoError(t, stream.CloseSend())

	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	assert.Subset(t, names, []string{
		"provider.v1.Provider",
		"grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection",
	})
}

func TestHealthzAndReadyz(t *testing.T) {
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	readyErr := errors.New("storage dir /x is not writable")
	var failing atomic.Bool
	failing.Store(true)
	opts.Ready = func(ctx context.Context) error {
		if failing.Load() {
			return readyErr
		}
		return nil
	}
	r := start(t, opts, newFakeProvider())
	base := "http://" + r.srv.HTTPAddr().String()

	code, body := httpGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	code, body = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, readyErr.Error())
	assert.Len(t, logs.records(t, "readiness check failed"), 1)

	failing.Store(false)
	code, _ = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code)

	code, _ = httpGet(t, base+"/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestGRPCHealthFollowsReady(t *testing.T) {
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.HealthInterval = 10 * time.Millisecond
	var failing atomic.Bool
	failing.Store(true)
	opts.Ready = func(context.Context) error {
		if failing.Load() {
			return errors.New("store unusable")
		}
		return nil
	}
	r := start(t, opts, newFakeProvider())
	client := healthpb.NewHealthClient(dialPlain(t, r.srv.GRPCAddr().String()))
	statusOf := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return resp.GetStatus()
	}

	// Not ready from the first call on: the first check runs before the server accepts calls.
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, statusOf(""))
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, statusOf(HealthService))

	failing.Store(false)
	require.Eventually(t, func() bool {
		return statusOf("") == healthpb.HealthCheckResponse_SERVING &&
			statusOf(HealthService) == healthpb.HealthCheckResponse_SERVING
	}, 5*time.Second, 5*time.Millisecond)

	failing.Store(true)
	require.Eventually(t, func() bool {
		return statusOf(HealthService) == healthpb.HealthCheckResponse_NOT_SERVING
	}, 5*time.Second, 5*time.Millisecond)
	assert.Len(t, logs.records(t, "not ready: gRPC health is NOT_SERVING"), 2, "logged on each change, not each check")
	assert.Len(t, logs.records(t, "ready again: gRPC health is SERVING"), 1)
}

// A Ready stuck where no context reaches (a hung file system) fails the probes after
// ReadyTimeout instead of hanging them, and the stuck calls do not pile up.
func TestStuckReadyFailsTheProbes(t *testing.T) {
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.HealthInterval = 10 * time.Millisecond
	opts.ReadyTimeout = 100 * time.Millisecond
	var stuck atomic.Bool
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	opts.Ready = func(context.Context) error {
		calls.Add(1)
		if stuck.Load() {
			<-release // ignores its context, as a blocked open(2) does
		}
		return nil
	}
	r := start(t, opts, newFakeProvider())
	base := "http://" + r.srv.HTTPAddr().String()
	client := healthpb.NewHealthClient(dialPlain(t, r.srv.GRPCAddr().String()))
	statusOf := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return resp.GetStatus()
	}
	code, _ := httpGet(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code)

	stuck.Store(true)
	began := time.Now()
	code, body := httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "did not answer within 100ms")
	assert.Less(t, time.Since(began), 3*time.Second, "/readyz must answer, not hang")
	require.Eventually(t, func() bool {
		return statusOf(HealthService) == healthpb.HealthCheckResponse_NOT_SERVING
	}, 5*time.Second, 5*time.Millisecond)

	n := calls.Load()
	time.Sleep(200 * time.Millisecond) // about 20 health intervals and 2 timeouts
	assert.Equal(t, n, calls.Load(), "no new Ready call while one is stuck")
}

func TestMetricsCountCallsByCode(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))
	ctx := t.Context()

	for range 3 {
		_, err := client.Validate(ctx, &providerv1.ValidateRequest{})
		require.NoError(t, err)
	}
	_, err := client.Describe(ctx, &providerv1.DescribeRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = client.GetCapabilities(ctx, &providerv1.GetCapabilitiesRequest{})
	require.Equal(t, codes.Unimplemented, status.Code(err))

	fams := scrape(t, r)
	count := func(method, code string) float64 {
		m := sample(fams, MetricRequests, map[string]string{
			"provider": "fake", "service": "provider.v1.Provider", "method": method, "code": code,
		})
		if m == nil {
			return 0
		}
		return m.GetCounter().GetValue()
	}
	assert.Equal(t, 3.0, count("Validate", "OK"))
	assert.Equal(t, 1.0, count("Describe", "InvalidArgument"))
	assert.Equal(t, 1.0, count("GetCapabilities", "Unimplemented"))
	assert.Equal(t, 0.0, count("Validate", "Internal"))

	hist := sample(fams, MetricDuration, map[string]string{"service": "provider.v1.Provider", "method": "Validate"})
	require.NotNil(t, hist, "latency histogram for Validate")
	assert.Equal(t, uint64(3), hist.GetHistogram().GetSampleCount())

	zero := sample(fams, MetricPanics, map[string]string{"service": "provider.v1.Provider", "method": "Create"})
	require.NotNil(t, zero, "the panic counter exists before any panic")
	assert.Equal(t, 0.0, zero.GetCounter().GetValue())

	_, hasRuntime := fams["go_goroutines"]
	assert.True(t, hasRuntime, "Go runtime metrics are exposed")
}

func TestProviderMetricsShareTheRegistry(t *testing.T) {
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	vms := promGauge("provider_vms", 7)
	require.NoError(t, opts.Registry.Register(vms))
	r := start(t, opts, newFakeProvider())

	m := sample(scrape(t, r), "provider_vms", nil)
	require.NotNil(t, m)
	assert.Equal(t, 7.0, m.GetGauge().GetValue())
}

func TestPanicAnswersInternalAndServerLivesOn(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))
	ctx := t.Context()

	var header metadata.MD
	_, err := client.Describe(ctx, &providerv1.DescribeRequest{Id: "panic"}, grpc.Header(&header))
	require.Equal(t, codes.Internal, status.Code(err))
	id := header.Get(RequestIDHeader)
	require.Len(t, id, 1)
	assert.Contains(t, status.Convert(err).Message(), id[0], "the client learns the id to quote")
	assert.NotContains(t, status.Convert(err).Message(), "nil map", "panic details stay in the log")

	panics := logs.records(t, "handler panicked")
	require.Len(t, panics, 1)
	assert.Equal(t, id[0], panics[0]["request_id"])
	assert.Contains(t, panics[0]["panic"], "nil map")
	assert.Contains(t, panics[0]["stack"], "fakeProvider).Describe")

	resp, err := client.Validate(ctx, &providerv1.ValidateRequest{})
	require.NoError(t, err, "the server survives a panicking handler")
	assert.True(t, resp.GetOk())

	fams := scrape(t, r)
	p := sample(fams, MetricPanics, map[string]string{"method": "Describe"})
	require.NotNil(t, p)
	assert.Equal(t, 1.0, p.GetCounter().GetValue())
	internal := sample(fams, MetricRequests, map[string]string{"method": "Describe", "code": "Internal"})
	require.NotNil(t, internal)
	assert.Equal(t, 1.0, internal.GetCounter().GetValue())
}

func TestRequestIDAdoptedOrGenerated(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))

	call := func(sent string) (header, seenByHandler string) {
		ctx := t.Context()
		if sent != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, sent)
		}
		var md metadata.MD
		resp, err := client.Describe(ctx, &providerv1.DescribeRequest{Id: "request-id"}, grpc.Header(&md))
		require.NoError(t, err)
		require.Len(t, md.Get(RequestIDHeader), 1)
		return md.Get(RequestIDHeader)[0], resp.GetProviderRawJson()
	}

	got, seen := call("abc-123")
	assert.Equal(t, "abc-123", got)
	assert.Equal(t, "abc-123", seen)

	got, seen = call("")
	assert.Equal(t, got, seen)
	_, err := uuid.Parse(got)
	assert.NoError(t, err, "a generated id is a UUID")

	got, _ = call(`evil "forged" log line`)
	assert.NotContains(t, got, "evil", "an unsafe id is replaced")
	got, _ = call(strings.Repeat("a", maxRequestIDLen+1))
	assert.Len(t, got, 36, "an over-long id is replaced")

	var found bool
	for _, rec := range logs.records(t, "rpc") {
		if rec["request_id"] == "abc-123" {
			found = true
			assert.Equal(t, "/provider.v1.Provider/Describe", rec["method"])
			assert.Equal(t, "OK", rec["code"])
			assert.Equal(t, "fake", rec["provider"])
			assert.Contains(t, rec, "duration_ms")
		}
	}
	assert.True(t, found, "the RPC log line carries the adopted request id")
}

func TestGracefulShutdownLetsInFlightCallFinish(t *testing.T) {
	var logs syncBuffer
	fake := newFakeProvider()
	r := start(t, plaintextOptions(t, &logs), fake)
	cc := dialPlain(t, r.srv.GRPCAddr().String())
	client := providerv1.NewProviderClient(cc)

	result := make(chan error, 1)
	go func() {
		resp, err := client.Describe(context.Background(), &providerv1.DescribeRequest{Id: "slow"})
		if err == nil && !resp.GetExists() {
			err = errors.New("slow call answered exists=false")
		}
		result <- err
	}()
	<-fake.slowStarted

	r.stop() // what SIGTERM does through signal.NotifyContext

	// While the call drains: readiness fails, health is NOT_SERVING, and Serve has not returned.
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, "http://"+r.srv.HTTPAddr().String()+"/readyz")
		return code == http.StatusServiceUnavailable
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case <-r.done:
		t.Fatalf("Serve returned while a call was in flight: %v", r.err)
	default:
	}
	// /readyz fails as soon as shutdown begins; GracefulStop closes the listener right after.
	assert.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", r.srv.GRPCAddr().String(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the gRPC listener is closed to new connections")

	close(fake.release)
	require.NoError(t, <-result, "the in-flight call completes successfully")
	select {
	case <-r.done:
		require.NoError(t, r.err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the last call finished")
	}
	assert.Len(t, logs.records(t, "stopped"), 1)
}

func TestShutdownTimeoutCancelsStuckCalls(t *testing.T) {
	var logs syncBuffer
	fake := newFakeProvider()
	opts := plaintextOptions(t, &logs)
	opts.ShutdownTimeout = 200 * time.Millisecond
	r := start(t, opts, fake)
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))

	result := make(chan error, 1)
	go func() {
		_, err := client.Describe(context.Background(), &providerv1.DescribeRequest{Id: "slow"})
		result <- err
	}()
	<-fake.slowStarted
	began := time.Now()
	r.stop()

	select {
	case <-r.done:
		require.NoError(t, r.err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve ignored the shutdown timeout")
	}
	assert.GreaterOrEqual(t, time.Since(began), opts.ShutdownTimeout)
	assert.Error(t, <-result, "the stuck call was cut off")
	assert.Len(t, logs.records(t, "graceful shutdown timed out, cancelling the remaining calls"), 1)
}

func TestHealthWatchSeesNotServingOnShutdown(t *testing.T) {
	var logs syncBuffer
	fake := newFakeProvider()
	r := start(t, plaintextOptions(t, &logs), fake)
	client := healthpb.NewHealthClient(dialPlain(t, r.srv.GRPCAddr().String()))

	watch, err := client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: HealthService})
	require.NoError(t, err)
	first, err := watch.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, first.GetStatus())

	r.stop()
	next, err := watch.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, next.GetStatus())
}

func TestListenFailsOnBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.HTTPAddr = busy.Addr().String()
	_, err = Listen(opts, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP listener on "+busy.Addr().String())

	opts = plaintextOptions(t, &logs)
	opts.GRPCAddr = busy.Addr().String()
	_, err = Listen(opts, nil)
	assert.ErrorContains(t, err, "gRPC listener on")
}

func TestServeTwiceIsRefused(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	assert.ErrorContains(t, r.srv.Serve(t.Context()), "Serve called twice")
}

func TestRunReturnsListenErrors(t *testing.T) {
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.Insecure = false
	err := Run(t.Context(), opts, nil)
	assert.ErrorContains(t, err, "no TLS files")
}

func promGauge(name string, v float64) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "A provider's own metric."})
	g.Set(v)
	return g
}

// rawCodec sends and receives bytes as they are, so a test can put undecodable messages on
// the wire.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// A request that does not decode is the client's mistake: InvalidArgument, logged and counted
// like any other, never grpc-go's Internal with no trace.
func TestUndecodableRequestIsInvalidArgument(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	conn := dialPlain(t, r.srv.GRPCAddr().String())
	for name, body := range map[string][]byte{
		"a string that is not UTF-8": {0x0a, 0x01, 0xff}, // DescribeRequest.id = "\xff"
		"broken wire data":           {0x08, 0xff},       // a varint that never ends
	} {
		var out []byte
		err := conn.Invoke(t.Context(), "/provider.v1.Provider/Describe", &body, &out, grpc.ForceCodecV2(rawCodec{}))
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", name, err)
		assert.Contains(t, status.Convert(err).Message(), "not a valid provider.v1.DescribeRequest message")
	}
	client := providerv1.NewProviderClient(conn)
	resp, err := client.Describe(t.Context(), &providerv1.DescribeRequest{Id: "request-id"})
	require.NoError(t, err, "a good request after bad ones is served as usual")
	assert.True(t, resp.GetExists())

	m := sample(scrape(t, r), MetricRequests, map[string]string{"method": "Describe", "code": "InvalidArgument"})
	require.NotNil(t, m, "undecodable requests are counted")
	assert.Equal(t, 2.0, m.GetCounter().GetValue())
	assert.Len(t, logs.records(t, "rpc"), 3, "and logged")
}

func TestUnknownMethodsAreLoggedAndCountedUnderOneLabel(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	conn := dialPlain(t, r.srv.GRPCAddr().String())
	for _, method := range []string{"/provider.v1.Provider/NoSuchCall", "/no.such.Service/Call", "/x/" + strings.Repeat("y", 500)} {
		var in, out []byte
		err := conn.Invoke(t.Context(), method, &in, &out, grpc.ForceCodecV2(rawCodec{}))
		require.Equal(t, codes.Unimplemented, status.Code(err), method)
	}
	m := sample(scrape(t, r), MetricRequests, map[string]string{"service": "unknown", "method": "unknown", "code": "Unimplemented"})
	require.NotNil(t, m, "unknown methods are counted, under one label set")
	assert.Equal(t, 3.0, m.GetCounter().GetValue())
	recs := logs.records(t, "rpc")
	require.Len(t, recs, 3, "and logged")
	for _, rec := range recs {
		assert.LessOrEqual(t, len(fmt.Sprint(rec["method"])), 203, "a client's method name is cut short in the log")
	}
}

func TestLogHandlerAddsTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("provider", "x")
	ctx := context.WithValue(t.Context(), requestIDKey{}, "req-1")

	log.InfoContext(ctx, "vm created")
	log.InfoContext(ctx, "rpc", "request_id", "req-1")
	log.Info("no call")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], `"request_id":"req-1"`)
	assert.Equal(t, 1, strings.Count(lines[1], "request_id"), "an id already logged is not added twice")
	assert.NotContains(t, lines[2], "request_id")
	assert.IsType(t, requestIDHandler{}, LogHandler(LogHandler(slog.NewJSONHandler(&buf, nil))), "wrapping twice wraps once")
}
