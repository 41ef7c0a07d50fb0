// The machine's own latency floor (-spin D): one goroutine, locked to its
// OS thread, spins on the clock for D and records every gap in its own
// execution, i.e. every time the core was taken from it (host preemption
// of the virtual CPU, kernel threads, interrupts). Run pinned (taskset) on
// the core a proxy under test uses, with nothing else there: whatever it
// reports, no proxy on that core can avoid. Prints one JSON summary.
package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"
)

type spinSummary struct {
	Seconds float64 `json:"seconds"`
	// Gaps of at least 0.5, 1, 2 and 4 ms (each counted once, in its largest bucket).
	Gaps05ms int     `json:"gaps05ms"`
	Gaps1ms  int     `json:"gaps1ms"`
	Gaps2ms  int     `json:"gaps2ms"`
	Gaps4ms  int     `json:"gaps4ms"`
	LostPct  float64 `json:"lostPct"` // share of the time in gaps of 0.05 ms or more
	MaxMs    float64 `json:"maxMs"`
}

func spin(d time.Duration) {
	runtime.LockOSThread()
	var s spinSummary
	start := time.Now()
	last := start
	var lost time.Duration
	for {
		now := time.Now()
		gap := now.Sub(last)
		last = now
		if now.Sub(start) >= d {
			break
		}
		if gap < 50*time.Microsecond {
			continue
		}
		lost += gap
		if ms := float64(gap.Microseconds()) / 1000; ms > s.MaxMs {
			s.MaxMs = ms
		}
		switch {
		case gap >= 4*time.Millisecond:
			s.Gaps4ms++
		case gap >= 2*time.Millisecond:
			s.Gaps2ms++
		case gap >= time.Millisecond:
			s.Gaps1ms++
		case gap >= 500*time.Microsecond:
			s.Gaps05ms++
		}
	}
	s.Seconds = d.Seconds()
	s.LostPct = 100 * lost.Seconds() / d.Seconds()
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}
