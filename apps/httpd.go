package apps

import (
	"fmt"
	"html"
)

// Paths inside the official httpd image, and where the program mounts its files.
const (
	httpdRoot      = "/usr/local/apache2"
	httpdConfigDir = "/etc/outside-in/httpd"
	httpdDocRoot   = httpdRoot + "/htdocs"
	// httpdRunDir holds the pid file and runtime files; it is a writable emptyDir because the
	// root filesystem is read-only.
	httpdRunDir = httpdRoot + "/logs"
)

// HTTPDConfig renders a minimal httpd.conf for a non-root, read-only container: it listens on an
// unprivileged port, keeps its pid file and runtime files in the writable run directory, and
// logs to the container's stdout and stderr.
func HTTPDConfig(port int, serverName string) string {
	return fmt.Sprintf(`# Rendered by outside-in.
ServerRoot "%[1]s"
Listen %[2]d
ServerName %[3]s
PidFile "%[4]s/httpd.pid"
DefaultRuntimeDir "%[4]s"

LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule mime_module modules/mod_mime.so
LoadModule log_config_module modules/mod_log_config.so
LoadModule unixd_module modules/mod_unixd.so
LoadModule dir_module modules/mod_dir.so
LoadModule headers_module modules/mod_headers.so

ServerTokens Prod
ServerSignature Off
TraceEnable Off
KeepAliveTimeout 65

ErrorLog /proc/self/fd/2
LogLevel warn
LogFormat "%%{X-Forwarded-For}i %%h %%l %%u %%t \"%%r\" %%>s %%b \"%%{Referer}i\" \"%%{User-Agent}i\"" proxied
CustomLog /proc/self/fd/1 proxied

TypesConfig conf/mime.types
DocumentRoot "%[5]s"
DirectoryIndex index.html
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "%[5]s">
    Options None
    AllowOverride None
    Require all granted
</Directory>
Header always set X-Content-Type-Options "nosniff"
`, httpdRoot, port, serverName, httpdRunDir, httpdDocRoot)
}

// IndexPage is the page an app serves; it names the app, so a request shows which backend
// answered (seed 002's two hostnames, two backends).
func IndexPage(app string) string {
	return fmt.Sprintf("<!doctype html>\n<html><head><title>%[1]s</title></head>\n"+
		"<body><h1>%[1]s</h1><p>Served by app %[1]s through outside-in.</p></body></html>\n",
		html.EscapeString(app))
}
