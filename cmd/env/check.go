package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/outside-in/outside-in/check"
)

// checkInterval is the pause between tries of env check --wait.
var checkInterval = 15 * time.Second

// walk checks outputs' path (an environment's through its platform's, when platform is set);
// tests replace it.
var walk = func(ctx context.Context, outputs, platform map[string]any) (*check.Report, error) {
	if platform != nil {
		return check.Environment(ctx, outputs, platform, check.Options{})
	}
	return check.Stack(ctx, outputs, check.Options{})
}

// errNotServing is env check's failure: the report says which hop broke.
var errNotServing = errors.New("a path does not serve (the report above says where it breaks)")

// checkStack checks the stack's request path: an environment (a stack exporting
// platformStack) through what its platform publishes for environments (never the platform's
// state), any other stack on its own.
func checkStack(ctx context.Context, m lifecycle, c command, out io.Writer) error {
	outputs, err := m.Outputs(ctx, c.stack)
	if err != nil {
		return err
	}
	var platform map[string]any
	if ref, _ := outputs["platformStack"].(string); ref != "" {
		if platform, err = m.Published(ctx, ref); err != nil {
			return fmt.Errorf("the platform of %s: %w", c.stack, err)
		}
	}
	try := func(ctx context.Context) (*check.Report, error) { return walk(ctx, outputs, platform) }
	report, err := check.Until(ctx, c.wait, checkInterval, try, check.Retrying(os.Stderr, "env check"))
	if err != nil {
		return err
	}
	if err := report.Write(out, c.format); err != nil {
		return err
	}
	if !report.Serves {
		return errNotServing
	}
	return nil
}
