// Package errmap turns the file provider's domain errors into gRPC statuses, the same way for
// every API adapter.
package errmap

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/providers/file/domain"
)

// Code is the gRPC code of a domain error kind.
func Code(k domain.Kind) codes.Code {
	switch k {
	case domain.KindInvalidArgument:
		return codes.InvalidArgument
	case domain.KindNotFound:
		return codes.NotFound
	case domain.KindAlreadyExists:
		return codes.AlreadyExists
	case domain.KindUnimplemented:
		return codes.Unimplemented
	case domain.KindResourceExhausted:
		return codes.ResourceExhausted
	case domain.KindUnavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// Status converts err (nil stays nil). Failures that are not the client's fault are logged,
// since the client only sees a summary of them.
func Status(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	code := Code(domain.KindOf(err))
	if code == codes.Internal || code == codes.Unavailable {
		log.ErrorContext(ctx, "request failed", "method", method, "code", code.String(), "error", err)
	}
	return status.Error(code, err.Error())
}
