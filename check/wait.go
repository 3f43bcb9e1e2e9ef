package check

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Until runs try until its report serves or wait has passed, pausing interval between tries,
// and returns the last report. The first minutes after an `up` are expected to fail at DNS
// (delegation, negative caching) or target health (the first checks). after, if set, hears
// each report that does not serve while there is time for another try.
func Until(ctx context.Context, wait, interval time.Duration, try func(context.Context) (*Report, error), after func(*Report, time.Duration)) (*Report, error) {
	deadline := time.Now().Add(wait)
	for {
		rep, err := try(ctx)
		if err != nil || rep.Serves {
			return rep, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return rep, nil
		}
		pause := min(interval, left)
		if after != nil {
			after(rep, pause)
		}
		select {
		case <-ctx.Done():
			return rep, nil
		case <-time.After(pause):
		}
	}
}

// Retrying returns an after for Until that says on w, under the command's name, each host
// that does not serve yet, its first broken hop and the pause before the next try.
func Retrying(w io.Writer, command string) func(*Report, time.Duration) {
	return func(r *Report, pause time.Duration) {
		for _, h := range r.Hosts {
			if !h.Serves {
				fmt.Fprintf(w, "%s: %s does not serve yet (first broken hop %s); retrying in %s\n", command, h.Host, h.FirstBroken, pause)
			}
		}
	}
}
