package kit

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// A request the server cannot decode (a string field that is not UTF-8, broken wire data) is
// something a client sent. grpc-go answers it Internal before any interceptor runs, so the
// client hears that the server failed, and the call is neither logged nor counted. The kit's
// codec instead lets such a request of a unary provider method through, empty, and remembers
// why it did not decode; refuseUndecodable, the interceptor after the observing one, answers it
// InvalidArgument, so it is logged and counted like any other bad request. Streaming methods
// (health Watch, reflection) keep grpc-go's behaviour: their handlers read messages themselves.
type decodeCodec struct {
	base encoding.CodecV2
	// unary holds the request types of the unary methods served; filled before Serve, read-only
	// after.
	unary  map[protoreflect.FullName]bool
	failed sync.Map // request message (pointer) → why it did not decode
}

func newDecodeCodec() *decodeCodec {
	return &decodeCodec{base: encoding.GetCodecV2("proto"), unary: map[protoreflect.FullName]bool{}}
}

func (c *decodeCodec) Name() string { return c.base.Name() }

func (c *decodeCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c *decodeCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok || !c.unary[m.ProtoReflect().Descriptor().FullName()] {
		return err
	}
	proto.Reset(m)
	c.failed.Store(v, err)
	return nil
}

// learn records the request types of the unary methods gs serves.
func (c *decodeCodec) learn(gs *grpc.Server) {
	for name := range gs.GetServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			continue
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			continue
		}
		for i := range sd.Methods().Len() {
			if md := sd.Methods().Get(i); !md.IsStreamingClient() && !md.IsStreamingServer() {
				c.unary[md.Input().FullName()] = true
			}
		}
	}
}

// refuseUndecodable answers InvalidArgument to a request the codec could not decode.
func (c *decodeCodec) refuseUndecodable(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if why, ok := c.failed.LoadAndDelete(req); ok {
		name := "request"
		if m, ok := req.(proto.Message); ok {
			name = string(m.ProtoReflect().Descriptor().FullName())
		}
		return nil, status.Errorf(codes.InvalidArgument, "the request is not a valid %s message: %v", name, why)
	}
	return handler(ctx, req)
}
