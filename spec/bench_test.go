package spec

import (
	"os"
	"testing"

	"github.com/chant-run/chant/internal/specgen"
)

// BenchmarkStatusWork is the spec package's part of what `chant status`
// does over 10,000 specs: load and order.
func BenchmarkStatusWork(b *testing.B) {
	root := b.TempDir()
	if _, err := specgen.Generate(root, 10000); err != nil {
		b.Fatal(err)
	}
	w, err := OpenWorkspace(root)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, err := w.Load()
		if err != nil {
			b.Fatal(err)
		}
		set.Order()
	}
}

func BenchmarkParseOne(b *testing.B) {
	root := b.TempDir()
	paths, err := specgen.Generate(root, 10)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := os.ReadFile(paths[3])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse("x.md", src); err != nil {
			b.Fatal(err)
		}
	}
}
