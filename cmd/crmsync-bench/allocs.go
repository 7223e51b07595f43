package main

import (
	"runtime"
	"strings"
)

// allocCount is heap allocations: objects and bytes.
type allocCount struct {
	objects, bytes int64
}

// profileAllocs runs fn with every allocation recorded and splits them by
// stack: a stack through the fakes' packages or the HTTP server's
// connection loop is the fakes' work (they share this process), the rest is
// crmsync's. The memory profile is the only per-stack account Go keeps, so
// the rate goes to 1 for fn and back afterwards.
func profileAllocs[T any](fn func() (T, error)) (T, allocCount, allocCount, error) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	e0, f0 := allocsByOwner()
	v, err := fn()
	e1, f1 := allocsByOwner()
	return v, allocCount{e1.objects - e0.objects, e1.bytes - e0.bytes},
		allocCount{f1.objects - f0.objects, f1.bytes - f0.bytes}, err
}

// allocsByOwner totals the memory profile after two collections (a
// profile is published one cycle late).
func allocsByOwner() (engine, fakes allocCount) {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	for i := range recs {
		r := &recs[i]
		c := &engine
		if fakeStack(r.Stack()) {
			c = &fakes
		}
		c.objects += r.AllocObjects
		c.bytes += r.AllocBytes
	}
	return engine, fakes
}

func fakeStack(pcs []uintptr) bool {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, "retailcrmtest.") || strings.Contains(f.Function, "bitrixtest.") ||
			strings.HasPrefix(f.Function, "net/http.(*conn).") || strings.HasPrefix(f.Function, "net/http/httptest.") {
			return true
		}
		if !more {
			return false
		}
	}
}
