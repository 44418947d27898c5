package compat

import (
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// TestGeneratedCodeIsCurrent compiles the .proto sources and compares them with the descriptors
// embedded in the committed Go code: a .proto edited without `make proto` fails here.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	generated := map[string]protoreflect.FileDescriptor{
		"provider/v1/provider.proto":            providerv1.File_provider_v1_provider_proto,
		"virtrigaud/tutorial/v1/tutorial.proto": tutorialv1.File_virtrigaud_tutorial_v1_tutorial_proto,
	}
	compiler := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{".."}}),
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	for path, gen := range generated {
		files, err := compiler.Compile(context.Background(), path)
		if err != nil {
			t.Fatalf("compile %s: %v", path, err)
		}
		fromSource := normalise(protodesc.ToFileDescriptorProto(files[0]))
		fromGo := normalise(protodesc.ToFileDescriptorProto(gen))
		if !proto.Equal(fromSource, fromGo) {
			t.Errorf("%s: generated Go code is stale; run `make proto` and commit proto/gen", path)
		}
	}
}

// normalise drops what differs between compilers without changing the schema.
func normalise(fd *descriptorpb.FileDescriptorProto) *descriptorpb.FileDescriptorProto {
	fd.SourceCodeInfo = nil
	var clearJSON func(msgs []*descriptorpb.DescriptorProto)
	clearJSON = func(msgs []*descriptorpb.DescriptorProto) {
		for _, m := range msgs {
			for _, f := range m.Field {
				f.JsonName = nil
			}
			clearJSON(m.NestedType)
		}
	}
	clearJSON(fd.MessageType)
	return fd
}
