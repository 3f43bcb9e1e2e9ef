// Package motoserver runs moto (AWS in a process, answering the AWS APIs on a loopback port)
// for the tests that read AWS through the real SDK: one server per test binary, started on first
// use and stopped by the binary's TestMain.
package motoserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Account is moto's default account.
const Account = "123456789012"

var server struct {
	once     sync.Once
	cmd      *exec.Cmd
	endpoint string
	log      bytes.Buffer
	err      error
}

// Start returns an AWS configuration pointed at the binary's moto server, starting it first. A
// machine without moto_server fails the test, naming the script that installs it.
func Start(t testing.TB, region string) aws.Config {
	t.Helper()
	server.once.Do(func() { server.err = launch() })
	if server.err != nil {
		t.Fatalf("moto: %v", server.err)
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(server.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

func launch() error {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		root, rootErr := repoRoot()
		if rootErr != nil {
			return rootErr
		}
		bin = filepath.Join(root, ".tools", "bin", "moto_server")
		if _, statErr := os.Stat(bin); statErr != nil {
			return fmt.Errorf("no moto_server on PATH nor in .tools/bin: run scripts/install-moto.sh")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &server.log, &server.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Certificates requested by DNS stay PENDING_VALIDATION (moto issues them after this wait).
	cmd.Env = append(os.Environ(), "MOTO_ACM_VALIDATION_WAIT=86400")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	server.cmd = cmd
	server.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(server.endpoint + "/moto-api/data.json")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	Stop()
	return fmt.Errorf("moto_server on port %d did not answer within 60 s:\n%s", port, server.log.String())
}

// Stop stops the server, if one was started.
func Stop() {
	if server.cmd != nil && server.cmd.Process != nil {
		_ = syscall.Kill(-server.cmd.Process.Pid, syscall.SIGTERM)
		_ = server.cmd.Wait()
		server.cmd = nil
	}
}

// repoRoot is the module's root: the first folder up from the working directory holding go.mod.
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

// Run runs a test binary's tests and then stops its server: the body of a TestMain,
// os.Exit(motoserver.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}
