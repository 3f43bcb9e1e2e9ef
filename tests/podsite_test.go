package tests

import (
	"bufio"
	"context"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podSite is what a pod's httpd serves, read from the pod as the container would see it: the
// config file named by the container's `-f` argument and the files under its DocumentRoot, each
// taken from the ConfigMap volume mounted there. It understands the directives the program's
// httpd.conf uses to decide an answer (apps.HTTPDConfig): Listen, DocumentRoot, DirectoryIndex
// and `Header always set`; a path with no file is 404, as httpd answers.
type podSite struct {
	port    int
	root    string
	index   string
	headers map[string]string
	files   map[string]string // by path in the container
}

// readPodSite reads the site of the pod's first container that runs an httpd config; nil when
// none does.
func readPodSite(ctx context.Context, c kubernetes.Interface, p *corev1.Pod) (*podSite, error) {
	for _, ctr := range p.Spec.Containers {
		config := ""
		for i, a := range ctr.Args {
			if a == "-f" && i+1 < len(ctr.Args) {
				config = ctr.Args[i+1]
			}
		}
		if config == "" {
			continue
		}
		files, err := mountedFiles(ctx, c, p, ctr)
		if err != nil {
			return nil, err
		}
		conf, ok := files[config]
		if !ok {
			return nil, fmt.Errorf("container %s: no file %s in its ConfigMap volumes", ctr.Name, config)
		}
		site := &podSite{index: "index.html", headers: map[string]string{}, files: files}
		scanner := bufio.NewScanner(strings.NewReader(conf))
		for scanner.Scan() {
			f := strings.Fields(scanner.Text())
			if len(f) < 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			switch {
			case f[0] == "Listen":
				if site.port, err = strconv.Atoi(f[1][strings.LastIndex(f[1], ":")+1:]); err != nil {
					return nil, fmt.Errorf("%s: Listen %s: %w", config, f[1], err)
				}
			case f[0] == "DocumentRoot":
				site.root = strings.Trim(f[1], `"`)
			case f[0] == "DirectoryIndex":
				site.index = f[1]
			case f[0] == "Header" && len(f) >= 5 && f[1] == "always" && f[2] == "set":
				site.headers[f[3]] = strings.Trim(strings.Join(f[4:], " "), `"`)
			}
		}
		if site.port == 0 || site.root == "" {
			return nil, fmt.Errorf("%s: no Listen or DocumentRoot", config)
		}
		return site, nil
	}
	return nil, nil
}

// mountedFiles are the files the container's ConfigMap volumes put in its filesystem, by path.
func mountedFiles(ctx context.Context, c kubernetes.Interface, p *corev1.Pod, ctr corev1.Container) (map[string]string, error) {
	volumes := map[string]*corev1.ConfigMapVolumeSource{}
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			volumes[v.Name] = v.ConfigMap
		}
	}
	files := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		src, ok := volumes[m.Name]
		if !ok {
			continue
		}
		cm, err := c.CoreV1().ConfigMaps(p.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("ConfigMap %s of volume %s: %w", src.Name, m.Name, err)
		}
		if len(src.Items) == 0 {
			for k, v := range cm.Data {
				files[path.Join(m.MountPath, k)] = v
			}
		}
		for _, item := range src.Items {
			if v, ok := cm.Data[item.Key]; ok {
				files[path.Join(m.MountPath, item.Path)] = v
			}
		}
	}
	return files, nil
}

func (s *podSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range s.headers {
		w.Header().Set(k, v)
	}
	p := path.Clean("/" + r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") {
		p = path.Join(p, s.index)
	}
	body, ok := s.files[path.Join(s.root, p)]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		w.Header().Set("Content-Type", t)
	}
	_, _ = fmt.Fprint(w, body)
}
