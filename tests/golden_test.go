package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/")

// The golden plans make every change to what a stack builds a reviewable diff. After a change
// that is meant, refresh them with `make golden-update` (go test ./tests/ -run Golden -update).
func TestGoldenPlans(t *testing.T) {
	for _, name := range []string{"dev", "prod", "k3s"} {
		t.Run(name, func(t *testing.T) {
			res := run(t, stack(t, name))

			var state bytes.Buffer
			enc := json.NewEncoder(&state)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(res.State()))

			var text bytes.Buffer
			res.WriteTree(&text)
			require.NoError(t, res.WritePaths(&text))

			var objects bytes.Buffer
			require.NoError(t, res.WriteYAML(&objects))

			golden(t, name+".state.json", res.Normalize(state.Bytes()))
			golden(t, name+".tree.txt", res.Normalize(text.Bytes()))
			golden(t, name+".objects.yaml", res.Normalize(objects.Bytes()))
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file %s: run `make golden-update`", path)
	assert.Equal(t, string(want), string(got), "%s differs from the plan; review, then run `make golden-update`", path)
}
