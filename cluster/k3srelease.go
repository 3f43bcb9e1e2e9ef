package cluster

import (
	"fmt"
	"regexp"
	"sort"
)

// K3sRelease is a k3s release the program can install: its binaries' sha256 checksums, per
// architecture, verified on every node before the binary runs.
type K3sRelease struct {
	Version string
	SHA256  map[Arch]string
	// Source is where the checksums were read, and when.
	Source string
}

// DefaultK3sVersion is the k3s release a k3s stack runs unless k3sVersion names another.
const DefaultK3sVersion = "v1.34.3+k3s1"

// K3sReleases are the releases with known checksums. To add one, take both lines of the
// release's sha256sum-amd64.txt and sha256sum-arm64.txt (k3s and k3s-arm64) from
// https://github.com/k3s-io/k3s/releases/tag/<version>, with the date read.
var K3sReleases = []K3sRelease{
	{
		Version: "v1.34.3+k3s1",
		SHA256: map[Arch]string{
			ArchX86:   "f95350e3997165974d1d1406f01aabaf869aed7ca790cc2d83a92a82f26a06c5",
			ArchArm64: "fa37b06df7ae82b46de6679a8682b6ece2adf531709bed6299086716c1038147",
		},
		Source: "the release's sha256sum-amd64.txt and sha256sum-arm64.txt as pinned by zarf-dev/zarf " +
			"packages/distros/k3s/zarf.yaml (commit 795097a3, 2026-01-05), read 2026-11-29",
	},
	{
		Version: "v1.32.3+k3s1",
		SHA256: map[Arch]string{
			ArchX86:   "b19216803650b567bf980888dec39035edaf664339c55bc4462f7a003edbef83",
			ArchArm64: "e1704d6dd74332acc8c398d36987663c7d559144b8ce789a83fd0ff1cb40cbaa",
		},
		Source: "as pinned by zarf-dev/zarf packages/distros/k3s/zarf.yaml (commit 000de8bc), read 2026-11-29",
	},
}

var k3sVersionPattern = regexp.MustCompile(`^v1\.(\d+)\.(\d+)\+k3s(\d+)$`)

// K3sReleaseOf finds a release by version.
func K3sReleaseOf(version string) (K3sRelease, bool) {
	for _, r := range K3sReleases {
		if r.Version == version {
			return r, true
		}
	}
	return K3sRelease{}, false
}

// K3sVersions are the versions of K3sReleases, sorted.
func K3sVersions() []string {
	out := make([]string, len(K3sReleases))
	for i, r := range K3sReleases {
		out[i] = r.Version
	}
	sort.Strings(out)
	return out
}

// KubernetesMinor is the Kubernetes minor version the release runs, e.g. "1.34".
func (r K3sRelease) KubernetesMinor() string {
	m := k3sVersionPattern.FindStringSubmatch(r.Version)
	if m == nil {
		return ""
	}
	return "1." + m[1]
}

// BinaryURL is where the release's binary for an architecture is downloaded from.
func (r K3sRelease) BinaryURL(a Arch) string {
	name := "k3s"
	if a == ArchArm64 {
		name = "k3s-arm64"
	}
	return fmt.Sprintf("https://github.com/k3s-io/k3s/releases/download/%s/%s", r.Version, name)
}
