//go:build !unix

package main

import "time"

// cpuTime returns 0: the process's CPU time is only measured on Unix
// systems, so cpu_seconds is 0 elsewhere.
func cpuTime() time.Duration { return 0 }
