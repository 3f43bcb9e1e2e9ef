package zzscratch

import (
	"os"
	"testing"
	"time"

	"github.com/outside-in/outside-in/internal/kubeapi"
)

func TestA(t *testing.T) { s := kubeapi.Start(t); t.Logf("A %s", s.Config().Host) }
func TestB(t *testing.T) {
	s := kubeapi.Start(t)
	s2 := kubeapi.Start(t)
	if s != s2 { t.Fatal("not shared") }
	t.Logf("B %s", s.Config().Host)
}
func TestParallel(t *testing.T) {
	for _, n := range []string{"p1", "p2", "p3"} {
		t.Run(n, func(t *testing.T) { t.Parallel(); s := kubeapi.Start(t); t.Logf("%s %s", n, s.Config().Host) })
	}
}
func TestHang(t *testing.T) {
	if os.Getenv("HANG") == "" { t.Skip() }
	kubeapi.Start(t)
	time.Sleep(time.Hour)
}
