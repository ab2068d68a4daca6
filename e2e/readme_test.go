package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's walk-through, every shell block
// of it in order, against a freshly built provisiond. Only three things are
// changed: `go run ./cmd/provisiond` becomes the built binary (the same
// code, without compiling twice), and the data directory, demo.env and the
// port are moved out of the way of a developer's own.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Walk-through")
	if start < 0 {
		t.Fatal("README has no Walk-through section")
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var script strings.Builder
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		script.WriteString(m[1])
	}
	if script.Len() == 0 {
		t.Fatal("the Walk-through section has no sh blocks")
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "provisiond")
	build := exec.Command("go", "build", "-o", bin, "./cmd/provisiond")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := strings.NewReplacer(
		"go run ./cmd/provisiond", bin,
		"./data", filepath.Join(dir, "data"),
		"demo.env", filepath.Join(dir, "demo.env"),
		"127.0.0.1:8080", addr,
	).Replace(script.String())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+s)
	cmd.Dir = ".."
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // the server may hold the output pipes
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the server, if a step failed
	}
	if err != nil {
		t.Fatalf("walk-through failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		`{"result":"Success","details":{}}`,
		`"errorCode":"RedundantExport"`,
		"(dry run: nothing was written)",
		"\nCreate\n",
		"\nDisable\n",
		"disable\tsuccess\tAda Lovelace",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walk-through output lacks %q:\n%s", want, got)
		}
	}
}
