package check_test

import (
	"bytes"
	"context"
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

// moto is one moto_server (moto's AWS in server mode) on a free loopback port, shared by the
// tests of this binary and stopped by TestMain. Its account is moto's default, 123456789012.
var moto struct {
	once     sync.Once
	cmd      *exec.Cmd
	endpoint string
	log      bytes.Buffer
	err      error
}

// startMoto returns an AWS configuration pointed at the shared moto server, starting it first.
// A machine without moto_server fails the test, naming the script that installs it.
func startMoto(t *testing.T, region string) aws.Config {
	t.Helper()
	moto.once.Do(func() { moto.err = launchMoto() })
	if moto.err != nil {
		t.Fatalf("moto: %v", moto.err)
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(moto.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

func launchMoto() error {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		bin = filepath.Join(repoRoot(), ".tools", "bin", "moto_server")
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
	cmd.Stdout, cmd.Stderr = &moto.log, &moto.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Certificates requested by DNS stay PENDING_VALIDATION (moto issues them after this wait).
	cmd.Env = append(os.Environ(), "MOTO_ACM_VALIDATION_WAIT=86400")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	moto.cmd = cmd
	moto.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(moto.endpoint + "/moto-api/data.json")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopMoto()
	return fmt.Errorf("moto_server on port %d did not answer within 60 s:\n%s", port, moto.log.String())
}

func stopMoto() {
	if moto.cmd != nil && moto.cmd.Process != nil {
		_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGTERM)
		_ = moto.cmd.Wait()
		moto.cmd = nil
	}
}
