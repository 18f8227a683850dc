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
