package store

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/vctsio/vcts/providers/file/domain"
)

const benchVMs = 10_000

// seedDir writes n VM files the way the store would, without fsync (setup speed only).
func seedDir(b *testing.B, n int) (dir string, ids []string) {
	b.Helper()
	dir = b.TempDir()
	for i := range n {
		vm := newVM(fmt.Sprintf("vcts-bench-%05d", i))
		data, err := encodeVM(vm)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, vm.ID+fileExt), data, 0o600); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, vm.ID)
	}
	return dir, ids
}

func openQuiet(b *testing.B, dir string) *Store {
	b.Helper()
	s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkOpen10k(b *testing.B) {
	dir, _ := seedDir(b, benchVMs)
	for b.Loop() {
		s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if s.Len() != benchVMs {
			b.Fatalf("loaded %d VMs", s.Len())
		}
		_ = s.Close()
	}
}

func BenchmarkGet10k(b *testing.B) {
	dir, ids := seedDir(b, benchVMs)
	s := openQuiet(b, dir)
	i := 0
	for b.Loop() {
		if _, ok := s.Get(ids[i%len(ids)]); !ok {
			b.Fatal("missing")
		}
		i++
	}
}

func BenchmarkGetParallel10k(b *testing.B) {
	dir, ids := seedDir(b, benchVMs)
	s := openQuiet(b, dir)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := s.Get(ids[i%len(ids)]); !ok {
				b.Fatal("missing")
			}
			i++
		}
	})
}

func BenchmarkList10k(b *testing.B) {
	dir, _ := seedDir(b, benchVMs)
	s := openQuiet(b, dir)
	for b.Loop() {
		if n := len(s.List()); n != benchVMs {
			b.Fatalf("listed %d", n)
		}
	}
}

// BenchmarkInsert10k measures a durable create (two fsyncs) into a store of 10 000 VMs.
func BenchmarkInsert10k(b *testing.B) {
	dir, _ := seedDir(b, benchVMs)
	s := openQuiet(b, dir)
	i := 0
	for b.Loop() {
		if err := s.Insert(newVM(fmt.Sprintf("vcts-new-%07d", i))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkUpdate10k(b *testing.B) {
	dir, ids := seedDir(b, benchVMs)
	s := openQuiet(b, dir)
	i := 0
	for b.Loop() {
		if _, err := s.Update(ids[i%len(ids)], func(vm *domain.VM) error { vm.Spec.CPU = int32(1 + i%8); return nil }); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
