package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestStartupGODEBUG checks that kura is built without the runtime's
// GOMAXPROCS updater (see the //go:debug line in main.go), which every
// start would otherwise pay for.
func TestStartupGODEBUG(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build information")
	}
	for _, s := range info.Settings {
		if s.Key == "DefaultGODEBUG" && strings.Contains(s.Value, "updatemaxprocs=0") {
			return
		}
	}
	t.Errorf("the build's default GODEBUG does not hold updatemaxprocs=0: %v", info.Settings)
}

// TestGCPercent checks that kura sets its garbage collector target, and
// leaves the runtime's when GOGC is in the environment.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	setGCPercent(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) (string, bool) { return "50", k == "GOGC" })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: %d, want it left at 100", got)
	}
}
