package main

import (
	"bytes"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// peakWatcher samples a child's VmHWM (its address space's high-water RSS)
// from /proc while it runs. ru_maxrss cannot be used on Linux: os/exec
// starts the child with CLONE_VM, and exec carries the parent's high-water
// mark into the child's, so every child would report at least the driver's
// own RSS — the fakes' memory the figure must leave out.
type peakWatcher struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func watchPeakRSS(pid int) *peakWatcher {
	w := &peakWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			// The mark only grows; max also guards a pid reused after exit.
			if b := vmHWM(path) * 1024; b > w.peak.Load() {
				w.peak.Store(b)
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// finish stops sampling and returns the peak in bytes (0: no /proc).
func (w *peakWatcher) finish() int64 {
	close(w.stop)
	<-w.done
	return w.peak.Load()
}

// vmHWM reads "VmHWM:   123456 kB"; 0 when the file or line is gone (the
// process has exited, or there is no /proc).
func vmHWM(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(data, []byte("VmHWM:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0
	}
	return kb
}
