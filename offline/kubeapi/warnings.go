package kubeapi

import (
	"context"
	"sync"
)

// warningList collects the warnings of the requests made with a context from
// withWarnings.
type warningList struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningList) add(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warningList) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

type warningsKey struct{}

// withWarnings returns ctx carrying w, where collectWarnings puts warnings.
func withWarnings(ctx context.Context, w *warningList) context.Context {
	return context.WithValue(ctx, warningsKey{}, w)
}

// collectWarnings is the warning handler of the package's own clients: it
// records each warning in the request context's warningList, if any, and
// otherwise drops it (the default handler would log it to stderr).
type collectWarnings struct{}

func (collectWarnings) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, message string) {
	if code != 299 || message == "" {
		return
	}
	if w, ok := ctx.Value(warningsKey{}).(*warningList); ok {
		w.add(message)
	}
}
