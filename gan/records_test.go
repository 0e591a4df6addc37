package gan_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadMetrics(t *testing.T) {
	fid := func(it int, v float64) gan.MetricRecord {
		return gan.MetricRecord{Iteration: it, Result: metrics.Result{Metric: "FID", Value: v}}
	}
	const (
		fid10 = `{"iteration":10,"result":{"metric":"FID","value":90.5}}`
		fid20 = `{"iteration":20,"result":{"metric":"FID","value":70.25},"protocol":"FID 70.25"}`
		kid20 = `{"iteration":20,"result":{"metric":"KID","value":0.03}}`
	)
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    map[string][]gan.MetricRecord
		wantErr string // "" for none
	}{
		{name: "empty folder", want: map[string][]gan.MetricRecord{}},
		{
			name:  "not metric files",
			files: map[string]string{gan.StatsFile: fid10 + "\n", "metric-fid.txt": fid10 + "\n", "fid.jsonl": fid10 + "\n"},
			want:  map[string][]gan.MetricRecord{},
		},
		{
			name:  "one metric in order",
			files: map[string]string{gan.MetricFile("fid"): fid10 + "\n" + fid20 + "\n"},
			want: map[string][]gan.MetricRecord{"fid": {fid(10, 90.5), {
				Iteration: 20, Result: metrics.Result{Metric: "FID", Value: 70.25}, Protocol: "FID 70.25"}}},
		},
		{
			name:  "two metrics",
			files: map[string]string{gan.MetricFile("fid"): fid10 + "\n", gan.MetricFile("kid"): kid20 + "\n"},
			want: map[string][]gan.MetricRecord{
				"fid": {fid(10, 90.5)},
				"kid": {{Iteration: 20, Result: metrics.Result{Metric: "KID", Value: 0.03}}},
			},
		},
		{
			name:    "torn last line",
			files:   map[string]string{gan.MetricFile("fid"): fid10 + "\n" + fid20[:30], gan.MetricFile("kid"): kid20 + "\n"},
			want:    map[string][]gan.MetricRecord{"fid": {fid(10, 90.5)}, "kid": {{Iteration: 20, Result: metrics.Result{Metric: "KID", Value: 0.03}}}},
			wantErr: "metric-fid.jsonl line 2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
			}
			got, err := gan.ReadMetrics(dir)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.wantErr)
			}
			assert.Equal(t, tc.want, got)
		})
	}

	_, err := gan.ReadMetrics(filepath.Join(t.TempDir(), "none"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
