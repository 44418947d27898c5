package kit

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader is the metadata key that carries a call's request id, both ways: a client may
// send one, and every response header carries the id the server used.
const RequestIDHeader = "x-request-id"

// maxRequestIDLen bounds a client-chosen id so logs cannot be flooded through it.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID returns the id of the call ctx belongs to, or "" outside a call.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps h so that every record logged with a call's context (InfoContext and the
// like, from a handler) carries the call's request_id, as the kit's own "rpc" line does: a
// provider's log lines about a request can then be found by its id. Listen wraps the
// Options.Logger with it.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// requestID adopts the caller's x-request-id when it is a sane token, else makes a new one.
func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if vals := md.Get(RequestIDHeader); len(vals) > 0 && validRequestID(vals[0]) {
			return vals[0]
		}
	}
	return uuid.NewString()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/+=~", r)
		if !ok {
			return false
		}
	}
	return true
}

// splitMethod turns "/pkg.Service/Method" into its service and method parts.
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// serverFault reports codes that mean the provider, not the client, is at fault.
func serverFault(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.Internal, codes.DataLoss:
		return true
	}
	return false
}

// quiet reports infrastructure services whose calls are logged at debug level only, because
// probes call them every few seconds.
func quiet(service string) bool {
	return strings.HasPrefix(service, "grpc.health.") || strings.HasPrefix(service, "grpc.reflection.")
}

// observation starts a call: it assigns the request id, returns it in the response header and
// gives back the function that records the outcome in the log and the metrics.
func observation(ctx context.Context, log *slog.Logger, m *metrics, fullMethod string) (context.Context, func(error)) {
	start := time.Now()
	id := requestID(ctx)
	ctx = context.WithValue(ctx, requestIDKey{}, id)
	// Best effort: SetHeader only fails once headers were sent, which cannot have happened yet.
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	service, method := m.labels(fullMethod)

	return ctx, func(err error) {
		elapsed := time.Since(start)
		code := status.Code(err)
		m.requests.WithLabelValues(service, method, code.String()).Inc()
		m.duration.WithLabelValues(service, method).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		switch {
		case serverFault(code):
			level = slog.LevelError
		case quiet(service): // a probe's Watch ending in Canceled is routine too
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", shortMethod(fullMethod)),
			slog.String("code", code.String()),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
		}
		log.LogAttrs(ctx, level, "rpc", attrs...)
	}
}

// shortMethod bounds a method name for the log: an unknown one is the client's to choose.
func shortMethod(full string) string {
	const limit = 200
	if len(full) > limit {
		return full[:limit] + "..."
	}
	return full
}

// unknownMethod answers a method no service registered, as gRPC itself would, but through
// the interceptors, so that the call is logged and counted like any other.
func unknownMethod(_ any, ss grpc.ServerStream) error {
	full, _ := grpc.MethodFromServerStream(ss)
	return status.Errorf(codes.Unimplemented, "unknown method %s", shortMethod(full))
}

func observeUnary(log *slog.Logger, m *metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, done := observation(ctx, log, m, info.FullMethod)
		resp, err := handler(ctx, req)
		done(err)
		return resp, err
	}
}

// observedStream hands the request-id context to the stream handler.
type observedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s observedStream) Context() context.Context { return s.ctx }

func observeStream(log *slog.Logger, m *metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, done := observation(ss.Context(), log, m, info.FullMethod)
		err := handler(srv, observedStream{ServerStream: ss, ctx: ctx})
		done(err)
		return err
	}
}

// recovered turns a handler panic into codes.Internal; the stack goes to the log, not the client.
func recovered(ctx context.Context, log *slog.Logger, m *metrics, fullMethod string, p any) error {
	service, method := m.labels(fullMethod)
	m.panics.WithLabelValues(service, method).Inc()
	id := RequestID(ctx)
	log.Error("handler panicked",
		"request_id", id,
		"method", fullMethod,
		"panic", fmt.Sprint(p),
		"stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "internal error (request id %s)", id)
}

func recoverUnary(log *slog.Logger, m *metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(ctx, log, m, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger, m *metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ss.Context(), log, m, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}
