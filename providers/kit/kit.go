// Package kit is the small server kit every provider needs: gRPC and HTTP listeners, health,
// reflection, metrics, logging, panic recovery, transport security and graceful shutdown.
//
// A provider main binds the standard flags, builds its service and hands both to Run:
//
//	fs := flag.NewFlagSet("provider-x", flag.ContinueOnError)
//	flags := kit.BindFlags(fs, os.LookupEnv)
//	_ = fs.Parse(os.Args[1:])
//	opts, err := flags.Options("x", os.Stderr)
//	...
//	err = kit.Run(ctx, opts, func(s *grpc.Server) { provider.Register(s) })
package kit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// Defaults of Options, also the defaults of the flags that BindFlags declares.
const (
	DefaultGRPCAddr        = ":9443"
	DefaultHTTPAddr        = ":8080"
	DefaultTLSDir          = "/etc/virtrigaud/tls"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultHealthInterval  = 5 * time.Second
	DefaultReadyTimeout    = 5 * time.Second
)

// HealthService is the grpc.health.v1 service name that VirtRigaud's manager checks, next to "".
const HealthService = "provider"

// Options configure a provider server. Zero values mean the defaults in the field comments.
// Options never read the environment themselves; BindFlags does that.
type Options struct {
	// GRPCAddr (default ":9443") and HTTPAddr (default ":8080") are the listen addresses.
	GRPCAddr string
	HTTPAddr string
	// TLSDir holds tls.crt, tls.key and ca.crt (default /etc/virtrigaud/tls). All three present
	// means mutual TLS with a required client certificate; see Listen for the other cases.
	TLSDir string
	// Insecure allows plaintext when no TLS file is present (VIRTRIGAUD_PROVIDER_INSECURE=true).
	Insecure bool
	// Name is the provider's name, used in logs and as the "provider" label of the metrics.
	Name string
	// Ready reports whether the provider can serve (e.g. its store is usable); nil means
	// always ready. /readyz calls it on every request; the gRPC health status of "" and
	// "provider" follows it, re-checked every HealthInterval.
	Ready func(ctx context.Context) error
	// HealthInterval is how often Ready is re-checked for the gRPC health status (default 5s).
	HealthInterval time.Duration
	// ReadyTimeout bounds one Ready call (default 5s): a Ready that has not answered by then
	// counts as not ready, so a wedged store fails the probes instead of hanging them.
	ReadyTimeout time.Duration
	// ShutdownTimeout bounds graceful shutdown (default 15s); calls still running after it
	// are cancelled.
	ShutdownTimeout time.Duration
	// Logger receives the server's and the per-RPC logs (default: JSON on stderr, level info).
	Logger *slog.Logger
	// Registry receives the kit's metrics and is served on /metrics; a provider registers its
	// own metrics in the same registry. nil means a fresh registry.
	Registry *prometheus.Registry
}

// Server is a provider server whose listeners are bound but which does not serve yet.
type Server struct {
	opts     Options
	log      *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	http     *http.Server
	grpcLis  net.Listener
	httpLis  net.Listener
	stopping atomic.Bool
	served   atomic.Bool

	readyMu  sync.Mutex
	readyRun *readyRun // the Ready call in flight, if any
}

// readyRun is one call of Options.Ready; err is set before done is closed.
type readyRun struct {
	done chan struct{}
	err  error
}

// Run serves until ctx is cancelled (e.g. on SIGTERM), then shuts down gracefully.
// register adds the provider's services to the gRPC server.
func Run(ctx context.Context, opts Options, register func(*grpc.Server)) error {
	s, err := Listen(opts, register)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Listen checks the transport security, builds the gRPC server (health, reflection, the
// provider's services) and binds both listeners. It refuses to build a server when the TLS
// files are incomplete or invalid, or absent without Insecure. Serve must be called on the
// result; it owns the listeners from then on.
func Listen(opts Options, register func(*grpc.Server)) (*Server, error) {
	opts = withDefaults(opts)
	log := opts.Logger.With("provider", opts.Name)

	creds, err := transportCredentials(opts.TLSDir, opts.Insecure, log)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}

	codec := newDecodeCodec()
	srvOpts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(observeUnary(log, m), codec.refuseUndecodable, recoverUnary(log, m)),
		grpc.ChainStreamInterceptor(observeStream(log, m), recoverStream(log, m)),
		grpc.UnknownServiceHandler(unknownMethod),
	}
	if creds != nil {
		srvOpts = append(srvOpts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(srvOpts...)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(HealthService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	if register != nil {
		register(gs)
	}
	codec.learn(gs)
	m.zeroPanics(gs)

	s := &Server{opts: opts, log: log, grpc: gs, health: hs}
	s.http = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	s.grpcLis, err = net.Listen("tcp", opts.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("gRPC listener on %s: %w", opts.GRPCAddr, err)
	}
	s.httpLis, err = net.Listen("tcp", opts.HTTPAddr)
	if err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("HTTP listener on %s: %w", opts.HTTPAddr, err)
	}
	return s, nil
}

func withDefaults(o Options) Options {
	if o.GRPCAddr == "" {
		o.GRPCAddr = DefaultGRPCAddr
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.TLSDir == "" {
		o.TLSDir = DefaultTLSDir
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	o.Logger = slog.New(LogHandler(o.Logger.Handler()))
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return o
}

// GRPCAddr is the bound gRPC address (useful when Options asked for port 0).
func (s *Server) GRPCAddr() net.Addr { return s.grpcLis.Addr() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() net.Addr { return s.httpLis.Addr() }

// Serve serves gRPC and HTTP until ctx is cancelled or a listener fails, then shuts down:
// health turns NOT_SERVING and /readyz fails, in-flight calls get up to ShutdownTimeout to
// finish, then the rest are cancelled. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("kit: Serve called twice")
	}
	// The first readiness check ends before serving, so no client sees SERVING from a
	// provider that is not ready.
	watchCtx, stopWatch := context.WithCancel(ctx)
	firstCheck, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		s.watchReadiness(watchCtx, firstCheck)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()
	<-firstCheck

	errs := make(chan error, 2)
	go func() {
		if err := s.grpc.Serve(s.grpcLis); err != nil {
			errs <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	go func() {
		if err := s.http.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	s.log.Info("serving", "grpc_addr", s.GRPCAddr().String(), "http_addr", s.HTTPAddr().String())

	var failure error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "reason", context.Cause(ctx).Error(), "timeout", s.opts.ShutdownTimeout.String())
	case failure = <-errs:
		s.log.Error("server failed, shutting down", "error", failure.Error())
	}
	s.shutdown()
	return failure
}

// ready calls Options.Ready with a deadline that a Ready stuck in the kernel (a wedged file
// system does not honour contexts) cannot outlast: after ReadyTimeout the provider counts as
// not ready, and the stuck call is left to finish on its own. At most one call runs at a
// time; callers that come while one runs share its answer.
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	s.readyMu.Lock()
	run := s.readyRun
	if run == nil {
		run = &readyRun{done: make(chan struct{})}
		s.readyRun = run
		go func() {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ReadyTimeout)
			run.err = s.opts.Ready(rctx)
			rcancel()
			s.readyMu.Lock()
			s.readyRun = nil
			s.readyMu.Unlock()
			close(run.done)
		}()
	}
	s.readyMu.Unlock()
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("readiness check did not answer within %s (is the storage responding?)", s.opts.ReadyTimeout)
		}
		return ctx.Err()
	}
}

// watchReadiness drives the gRPC health status from Ready until ctx ends. Once shutdown
// begins the health server ignores updates, so a late check cannot turn it SERVING again.
func (s *Server) watchReadiness(ctx context.Context, firstCheck chan<- struct{}) {
	if s.opts.Ready == nil {
		close(firstCheck)
		return
	}
	serving := true
	check := func() {
		err := s.ready(ctx)
		if ctx.Err() != nil {
			return
		}
		status := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		switch {
		case err != nil && serving:
			s.log.Warn("not ready: gRPC health is NOT_SERVING", "error", err.Error())
		case err == nil && !serving:
			s.log.Info("ready again: gRPC health is SERVING")
		}
		serving = err == nil
		s.health.SetServingStatus("", status)
		s.health.SetServingStatus(HealthService, status)
	}
	check()
	close(firstCheck)
	ticker := time.NewTicker(s.opts.HealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			check()
		}
	}
}

func (s *Server) shutdown() {
	s.stopping.Store(true)
	s.health.Shutdown()
	deadline := time.Now().Add(s.opts.ShutdownTimeout)

	drained := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(drained)
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.log.Warn("graceful shutdown timed out, cancelling the remaining calls")
		s.grpc.Stop()
		<-drained
	}

	// The HTTP side stays up while gRPC drains so probes see /readyz failing, not a refused port.
	httpCtx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Second))
	defer cancel()
	if err := s.http.Shutdown(httpCtx); err != nil {
		s.log.Warn("HTTP shutdown", "error", err.Error())
		s.http.Close()
	}
	s.log.Info("stopped")
}
