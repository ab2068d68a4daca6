package scimtest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"provisiond/logbuf"
)

// scimmyHint says how to get SCIMMY installed.
const scimmyHint = "SCIMMY is not available (needs node and scripts/scimmy/node_modules): " +
	"run the README's test command (./scripts/test.sh), which runs `npm ci --prefix scripts/scimmy` first"

// StartSCIMMY starts the SCIMMY server of scripts/scimmy on a free loopback
// port with a random bearer token and stops it when the test ends. It
// returns the SCIM base URL (…/scim/v2) and the token. Without node or the
// installed node_modules the test is skipped, or fails when the
// environment variable PROVISIOND_COMPONENTS is "required".
func StartSCIMMY(t testing.TB) (baseURL, token string) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("scimmy: %v", err)
	}
	dir := filepath.Join(root, "scripts", "scimmy")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "scimmy"))
	}
	if err != nil {
		if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
			t.Fatalf("%s (%v)", scimmyHint, err)
		}
		t.Skipf("%s (%v)", scimmyHint, err)
	}

	var b [16]byte
	_, _ = rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	cmd := exec.Command(node, "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SCIMMY_TOKEN="+token, "PORT=0")
	stderr := &logbuf.Buffer{}
	cmd.Stderr = stderr
	stdout, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("scimmy: start node: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case ready <- strings.TrimSpace(u):
				default:
				}
			}
		}
	}()
	select {
	case u := <-ready:
		return u, token
	case <-exited:
		t.Fatalf("scimmy: node exited before it was ready: %q", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("scimmy: not ready after 30s: %q", stderr.String())
	}
	return "", ""
}

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
