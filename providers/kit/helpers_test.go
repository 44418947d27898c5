package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// fakeProvider is the smallest service that exercises the kit: Describe's id picks the behaviour.
type fakeProvider struct {
	providerv1.UnimplementedProviderServer
	slowStarted chan struct{} // receives a token whenever a "slow" call starts
	release     chan struct{} // closing it lets the "slow" calls finish
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{slowStarted: make(chan struct{}, 16), release: make(chan struct{})}
}

func (f *fakeProvider) Validate(context.Context, *providerv1.ValidateRequest) (*providerv1.ValidateResponse, error) {
	return &providerv1.ValidateResponse{Ok: true}, nil
}

func (f *fakeProvider) Describe(ctx context.Context, req *providerv1.DescribeRequest) (*providerv1.DescribeResponse, error) {
	switch req.GetId() {
	case "":
		return nil, status.Error(codes.InvalidArgument, "id is empty")
	case "panic":
		var m map[string]int
		m["boom"]++ //nolint:staticcheck // SA5000 is the point: a genuine runtime panic, not a hand-made one
		return nil, nil
	case "slow":
		f.slowStarted <- struct{}{}
		select {
		case <-f.release:
			return &providerv1.DescribeResponse{Exists: true, PowerState: "On"}, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	case "request-id":
		return &providerv1.DescribeResponse{Exists: true, ProviderRawJson: RequestID(ctx)}, nil
	}
	return &providerv1.DescribeResponse{Exists: false}, nil
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recordsAll decodes every log line; each must be a JSON object.
func (b *syncBuffer) recordsAll(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line is not JSON: %s", line)
		out = append(out, rec)
	}
	return out
}

// records decodes the log lines whose msg is msg.
func (b *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range b.recordsAll(t) {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// running is a kit server serving in the background for one test.
type running struct {
	srv  *Server
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan struct{} // closed when Serve returned; err is its result
	err  error
}

// plaintextOptions are Options for a loopback server without TLS files.
func plaintextOptions(t *testing.T, logs io.Writer) Options {
	return Options{
		GRPCAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		TLSDir:   t.TempDir(),
		Insecure: true,
		Name:     "fake",
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: prometheus.NewRegistry(),
	}
}

// start serves opts with the fake provider; the server is stopped when the test ends.
func start(t *testing.T, opts Options, fake *fakeProvider) *running {
	t.Helper()
	srv, err := Listen(opts, func(s *grpc.Server) { providerv1.RegisterProviderServer(s, fake) })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, reg: opts.Registry, stop: cancel, done: make(chan struct{})}
	go func() {
		r.err = srv.Serve(ctx)
		close(r.done)
	}()
	// Tests start once Serve runs, so their own Serve calls and shutdowns are not racing it.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + srv.HTTPAddr().String() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 5*time.Millisecond)
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return r
}

func dialPlain(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// scrape parses the /metrics page of a running server.
func scrape(t *testing.T, r *running) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, "http://"+r.srv.HTTPAddr().String()+"/metrics")
	require.Equal(t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return families
}

// sample finds the metric of family name whose labels include want; nil when absent.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	fam, ok := families[name]
	if !ok {
		return nil
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
				break
			}
		}
		if match {
			return m
		}
	}
	return nil
}
