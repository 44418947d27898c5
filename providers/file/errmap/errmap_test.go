package errmap

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/providers/file/domain"
)

func TestStatus(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		err  error
		want codes.Code
	}{
		{domain.InvalidArgument("bad"), codes.InvalidArgument},
		{domain.NotFound("gone"), codes.NotFound},
		{domain.AlreadyExists("taken"), codes.AlreadyExists},
		{domain.Unimplemented("no"), codes.Unimplemented},
		{domain.ResourceExhausted("full"), codes.ResourceExhausted},
		{domain.Unavailable(io.ErrShortWrite, "write"), codes.Unavailable},
		{fmt.Errorf("wrapped: %w", domain.NotFound("gone")), codes.NotFound},
		{errors.New("a bug"), codes.Internal},
	}
	for _, tt := range tests {
		st, ok := status.FromError(Status(t.Context(), log, "M", tt.err))
		if !ok || st.Code() != tt.want || st.Message() != tt.err.Error() {
			t.Errorf("Status(%v) = %v, want code %s", tt.err, st, tt.want)
		}
	}
	if Status(t.Context(), log, "M", nil) != nil {
		t.Error("nil error became a status")
	}
}
