//go:build unix

// Command benchcmp times kura against sops on the benchmark files, as
// whole processes, and prints one table: the median wall time and peak
// memory of each, and their ratio. `make bench` runs it after the Go
// benchmarks; docs/performance.md shows a run and how to read it.
//
// Each command runs once to warm the caches and then RUNS times (at least
// 11 times for files of up to 1,000 values, whose start-up dominated
// times move most from run to run; at most 3 for 100,000 values), kura's
// and sops's runs taking turns so that both meet the same moments of a
// shared machine; the figures are medians. Decrypt rows decrypt the same file, written by
// sops, with both tools; encrypt rows encrypt the same plaintext for the
// same age recipient. Memory is the peak resident set size the kernel
// reports for the process (getrusage). Both binaries run from copies the
// tool writes into its work directory (see installCopy).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type tool struct {
	name, path string
}

type row struct {
	name    string
	args    func(t tool) []string // arguments, files relative to the work dir
	size    int
	format  string
	op      string
	measure [2]result // kura, sops
}

type result struct {
	wall time.Duration
	rss  int64 // KiB
	err  error
}

func main() {
	kura := flag.String("kura", "bin/kura", "the kura binary")
	sops := flag.String("sops", "", "the sops binary (default: sops on PATH or in GOPATH/bin)")
	work := flag.String("dir", "", "work directory (default: a temporary one)")
	runs := flag.Int("runs", 5, "timed runs per command (3 for 100,000-value files)")
	sizesFlag := flag.String("sizes", "10,1000,10000,100000", "file sizes, as gen-bench.py takes them")
	flag.Parse()

	sopsPath := *sops
	if sopsPath == "" {
		sopsPath = lookTool("sops")
	}
	if sopsPath == "" {
		fatal("sops is not installed: go install github.com/getsops/sops/v3/cmd/sops@v3.13.2")
	}
	kuraPath, err := filepath.Abs(*kura)
	check(err)
	dir := *work
	if dir == "" {
		dir, err = os.MkdirTemp("", "kura-bench-")
		check(err)
		defer os.RemoveAll(dir)
	}
	root, err := os.Getwd()
	check(err)
	kuraPath, sopsPath = installCopy(kuraPath, dir), installCopy(sopsPath, dir)
	keyFile := filepath.Join(root, "testdata", "keys", "age1.txt")
	pub, err := os.ReadFile(filepath.Join(root, "testdata", "keys", "age1.pub"))
	check(err)
	recipient := strings.TrimSpace(string(pub))

	gen := exec.Command("python3", filepath.Join(root, "scripts", "gen-bench.py"), dir, "--sizes", *sizesFlag)
	gen.Stderr = os.Stderr
	check(gen.Run())

	env := append(os.Environ(), "SOPS_AGE_KEY_FILE="+keyFile, "SOPS_DISABLE_VERSION_CHECK=1")
	tools := [2]tool{{"kura", kuraPath}, {"sops", sopsPath}}
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		var n int
		fmt.Sscan(s, &n)
		sizes = append(sizes, n)
	}
	formats := []string{"yaml", "json", "env"}

	// The encrypted inputs of the decrypt rows, written by sops.
	for _, n := range sizes {
		for _, f := range formats {
			in := fmt.Sprintf("bench-%d.%s", n, f)
			out := fmt.Sprintf("enc-%d.%s", n, f)
			cmd := exec.Command(sopsPath, "encrypt", "--age", recipient, "--output", out, in)
			cmd.Dir, cmd.Env, cmd.Stderr = dir, env, os.Stderr
			check(cmd.Run())
		}
	}

	var rows []*row
	for _, n := range sizes {
		for _, f := range formats {
			in := fmt.Sprintf("bench-%d.%s", n, f)
			enc := fmt.Sprintf("enc-%d.%s", n, f)
			rows = append(rows,
				&row{name: fmt.Sprintf("encrypt %s %d", f, n), size: n, format: f, op: "encrypt",
					args: func(tool) []string { return []string{"encrypt", "--age", recipient, in} }},
				&row{name: fmt.Sprintf("decrypt %s %d", f, n), size: n, format: f, op: "decrypt",
					args: func(tool) []string { return []string{"decrypt", enc} }})
		}
	}
	if slices.Contains(sizes, 100000) {
		rows = append(rows, &row{name: "extract yaml 100000", size: 100000, format: "yaml", op: "extract",
			args: func(tool) []string {
				return []string{"decrypt", "--extract", `["bench"]["lookup"]["key"]`, "enc-100000.yaml"}
			}})
	}

	fmt.Printf("\nkura against sops %s, %s/%s, %d CPUs; medians of %d runs (at least %d up to 1,000 values, at most 3 for 100,000), kura and sops taking turns\n\n", sopsVersion(sopsPath), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *runs, minSmallRuns)
	fmt.Printf("%-22s %10s %10s %10s %10s %8s %8s\n", "row", "kura", "kura mem", "sops", "sops mem", "time", "memory")
	for _, r := range rows {
		n := *runs
		switch {
		case r.size >= 100000:
			n = min(n, 3)
		case r.size <= 1000:
			n = max(n, minSmallRuns)
		}
		r.measure = measure(dir, env, [2]string{tools[0].path, tools[1].path}, [2][]string{r.args(tools[0]), r.args(tools[1])}, n)
		k, s := r.measure[0], r.measure[1]
		fmt.Printf("%-22s %10s %10s %10s %10s %8s %8s\n", r.name, wall(k), mem(k), wall(s), mem(s), ratio(float64(k.wall), float64(s.wall), k.err, s.err), ratio(float64(k.rss), float64(s.rss), k.err, s.err))
	}
	// Growth: time at the largest size over time at a tenth of it.
	if slices.Contains(sizes, 100000) && slices.Contains(sizes, 10000) {
		fmt.Printf("\ngrowth, time at 100,000 values / time at 10,000 (linear is 10)\n\n")
		fmt.Printf("%-22s %10s %10s\n", "row", "kura", "sops")
		for _, op := range []string{"encrypt", "decrypt"} {
			for _, f := range formats {
				big, small := find(rows, op, f, 100000), find(rows, op, f, 10000)
				fmt.Printf("%-22s %10.1f %10.1f\n", op+" "+f, float64(big.measure[0].wall)/float64(small.measure[0].wall), float64(big.measure[1].wall)/float64(small.measure[1].wall))
			}
		}
	}
}

func find(rows []*row, op, f string, n int) *row {
	for _, r := range rows {
		if r.op == op && r.format == f && r.size == n {
			return r
		}
	}
	return nil
}

// minSmallRuns is the least number of timed runs for files of up to
// 1,000 values.
const minSmallRuns = 11

// installCopy writes a copy of the program at path into dir/bin with one
// plain write, as an installer or a download does, and returns the copy's
// path. Both tools run from such copies, so that they start from the same
// state: the page cache of a binary the Go linker wrote (through a memory
// mapping) holds it in 4 KiB folios, and mapping its pages at start-up
// then costs more than for a file written with write(2) or read back from
// disk, which the kernel keeps in large folios. On the benchmark machine
// the copy starts 4 ms sooner for kura's 10-value decrypt (21 -> 17 ms)
// and 7 ms sooner for sops's (81 -> 74 ms).
//
// The copy goes through a small buffer: a child's peak memory as getrusage
// reports it starts from the parent's resident size at the fork, so
// benchcmp must stay small.
func installCopy(path, dir string) string {
	in, err := os.Open(path)
	check(err)
	defer in.Close()
	bin := filepath.Join(dir, "bin")
	check(os.MkdirAll(bin, 0o755))
	outPath := filepath.Join(bin, filepath.Base(path))
	out, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	check(err)
	buf := make([]byte, 1<<20)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			_, werr := out.Write(buf[:n]) // write(2), not copy_file_range as io.Copy would
			check(werr)
		}
		if err == io.EOF {
			break
		}
		check(err)
	}
	check(out.Close())
	return outPath
}

// measure runs two commands (kura's and sops's) once each to warm up and
// then n times each, taking turns, and returns the median wall time and
// memory of each.
func measure(dir string, env []string, paths [2]string, args [2][]string, n int) (out [2]result) {
	var walls [2][]time.Duration
	var rss [2][]int64
	for i := 0; i <= n; i++ {
		for t := range paths {
			if out[t].err != nil {
				continue
			}
			cmd := exec.Command(paths[t], args[t]...)
			cmd.Dir, cmd.Env = dir, env
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = nil, &stderr
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			if err != nil {
				out[t].err = fmt.Errorf("%s %s: %v: %s", filepath.Base(paths[t]), strings.Join(args[t], " "), err, strings.TrimSpace(stderr.String()))
				continue
			}
			if i == 0 {
				continue
			}
			walls[t] = append(walls[t], elapsed)
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rss[t] = append(rss[t], int64(ru.Maxrss))
			}
		}
	}
	for t := range paths {
		if out[t].err != nil {
			continue
		}
		slices.Sort(walls[t])
		slices.Sort(rss[t])
		out[t].wall = walls[t][len(walls[t])/2]
		if len(rss[t]) > 0 {
			out[t].rss = rss[t][len(rss[t])/2]
		}
	}
	return out
}

func wall(r result) string {
	if r.err != nil {
		return "failed"
	}
	switch {
	case r.wall < time.Second:
		return fmt.Sprintf("%d ms", r.wall.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", r.wall.Seconds())
}

func mem(r result) string {
	if r.err != nil {
		return "-"
	}
	return fmt.Sprintf("%d MiB", (r.rss+512)/1024)
}

func ratio(a, b float64, errs ...error) string {
	for _, e := range errs {
		if e != nil {
			fmt.Fprintln(os.Stderr, "benchcmp:", e)
			return "-"
		}
	}
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", a/b)
}

func sopsVersion(path string) string {
	out, err := exec.Command(path, "--version", "--disable-version-check").Output()
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(out))
	if len(f) >= 2 {
		return f[1]
	}
	return "?"
}

func lookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func check(err error) {
	if err != nil {
		fatal(err.Error())
	}
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "benchcmp:", msg)
	os.Exit(1)
}
