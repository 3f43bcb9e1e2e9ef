package apps

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/outside-in/outside-in/guardrails"
)

func TestHTTPDConfig(t *testing.T) {
	conf := HTTPDConfig(8080, "web")
	for _, want := range []string{
		"Listen 8080\n", "ServerName web\n", `PidFile "/usr/local/apache2/logs/httpd.pid"`,
		`DefaultRuntimeDir "/usr/local/apache2/logs"`, "ErrorLog /proc/self/fd/2", "CustomLog /proc/self/fd/1",
		"LoadModule unixd_module", "ServerTokens Prod",
	} {
		assert.Contains(t, conf, want)
	}
	assert.NotContains(t, conf, "Listen 80\n", "a non-root httpd cannot bind port 80")
	assert.Contains(t, conf, `"%{X-Forwarded-For}i %h`, "percent signs survive formatting")
	page := IndexPage("web8080<b>")
	assert.Contains(t, page, "web8080")
	assert.False(t, strings.Contains(page, "<b>"), "names are escaped")
}

func TestPullPolicy(t *testing.T) {
	assert.Equal(t, "IfNotPresent", PullPolicy("httpd:2.4.68@sha256:"+strings.Repeat("a", 64)), "a digest never changes")
	assert.Equal(t, "Always", PullPolicy("httpd:2.4.68"), "a tag can move")
}

func TestEnvironmentLabels(t *testing.T) {
	labels, annotations := EnvironmentLabels(EnvironmentArgs{Env: "pr-17", Stack: "organization/outside-in/pr-17",
		Owner: "alice@example.com", ExpiresAt: "2026-12-01T12:00:00Z"})
	assert.Equal(t, "pr-17", labels["outside-in/environment"])
	assert.Equal(t, "organization_outside-in_pr-17", labels["outside-in/stack"], "a label value holds no slash")
	assert.Equal(t, "alice_example.com", labels["outside-in/owner"])
	assert.Equal(t, "20261201T120000Z", labels["outside-in/expires-at"], "a label value holds no colon")
	assert.Equal(t, "alice@example.com", annotations["outside-in/owner"], "the annotation keeps the value as given")
	assert.Equal(t, "2026-12-01T12:00:00Z", annotations["outside-in/expires-at"])
}

// What a later env up changes of an environment's namespace labels (a renewed expiry, another
// owner) is what the platform lets the environments group change; nothing else differs.
func TestRenewingAnEnvironmentChangesOnlyRenewableLabels(t *testing.T) {
	first, _ := EnvironmentLabels(EnvironmentArgs{Env: "pr-17", Stack: "organization/outside-in/pr-17",
		Owner: "alice@example.com", ExpiresAt: "2026-12-01T12:00:00Z"})
	renewed, _ := EnvironmentLabels(EnvironmentArgs{Env: "pr-17", Stack: "organization/outside-in/pr-17",
		Owner: "renovate[bot]", ExpiresAt: "2026-12-04T12:00:00Z"})
	var changed []string
	for k, v := range renewed {
		if first[k] != v {
			changed = append(changed, k)
		}
	}
	assert.Len(t, first, len(renewed))
	assert.ElementsMatch(t, guardrails.RenewableNamespaceLabels, changed)
}
