package wirev1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/service"
	"github.com/vctsio/vcts/providers/file/store"
)

const benchVMs = 10_000

// seeded returns a storage directory holding n VMs, written without fsync for speed, and
// their ids.
func seeded(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(store.Options{Dir: dir, Logger: log, UnsafeNoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	svc := service.New(service.Options{Store: st, Logger: log})
	ids := make([]string, 0, n)
	for i := range n {
		vm, _, err := svc.Create(service.CreateRequest{
			Name: fmt.Sprintf("vcts-bench-%05d", i),
			Spec: domain.Spec{CPU: 2, MemoryMiB: 2048, Image: domain.Image{TemplateName: "ubuntu"}, Disks: []domain.Disk{{SizeGiB: 20}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, vm.ID)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, ids
}

func benchServer(b *testing.B, n int) (fixture, []string) {
	dir, ids := seeded(b, n)
	return serve(b, dir, 0, slog.New(slog.NewTextHandler(io.Discard, nil))), ids
}

func BenchmarkDescribe10k(b *testing.B) {
	f, ids := benchServer(b, benchVMs)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		resp, err := f.c.Describe(ctx, &providerv1.DescribeRequest{Id: ids[i%len(ids)]})
		if err != nil || !resp.GetExists() {
			b.Fatal(resp, err)
		}
		i++
	}
}

func BenchmarkDescribeParallel10k(b *testing.B) {
	f, ids := benchServer(b, benchVMs)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			resp, err := f.c.Describe(ctx, &providerv1.DescribeRequest{Id: ids[i%len(ids)]})
			if err != nil || !resp.GetExists() {
				b.Fatal(resp, err)
			}
			i++
		}
	})
}

func BenchmarkListVMs10k(b *testing.B) {
	f, _ := benchServer(b, benchVMs)
	ctx := context.Background()
	for b.Loop() {
		resp, err := f.c.ListVMs(ctx, &providerv1.ListVMsRequest{})
		if err != nil || len(resp.GetVms()) != benchVMs {
			b.Fatal(len(resp.GetVms()), err)
		}
	}
}

// BenchmarkCreate10k is a durable create (two fsyncs) into a provider holding 10 000 VMs.
func BenchmarkCreate10k(b *testing.B) {
	f, _ := benchServer(b, benchVMs)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		_, err := f.c.Create(ctx, &providerv1.CreateRequest{
			Name:      fmt.Sprintf("vcts-new-%07d", i),
			ClassJson: `{"CPU":2,"MemoryMiB":2048}`,
			DisksJson: `[{"SizeGiB":20}]`,
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCreateParallel10k(b *testing.B) {
	f, _ := benchServer(b, benchVMs)
	ctx := context.Background()
	var seq atomicCounter
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := f.c.Create(ctx, &providerv1.CreateRequest{
				Name:      fmt.Sprintf("vcts-par-%07d", seq.next()),
				ClassJson: `{"CPU":2,"MemoryMiB":2048}`,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }
