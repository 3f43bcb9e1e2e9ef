package check

import (
	"context"
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
