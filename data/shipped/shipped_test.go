package shipped

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShipped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		load    func(...data.Option) (*data.Memory, error)
		n       int
		classes []string
	}{
		{"FashionMNIST", FashionMNIST, FashionMNISTLen, FashionClasses},
		{"FashionMNISTEval", FashionMNISTEval, FashionMNISTEvalLen, FashionClasses},
		{"MNIST", MNIST, MNISTLen, DigitClasses},
		{"MNISTEval", MNISTEval, MNISTEvalLen, DigitClasses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.load()
			require.NoError(t, err)
			require.Equal(t, []int{tc.n, 1, 28, 28}, m.Images().Shape())
			assert.Equal(t, tc.classes, m.Classes(), "classes")
			count := make([]int, 10)
			for _, l := range m.Labels() {
				count[l]++
			}
			for l, c := range count {
				assert.Equal(t, tc.n/10, c, "images of class %d", l)
			}
			lo, hi := float32(1), float32(-1)
			for _, v := range m.Images().Data() {
				lo, hi = min(lo, v), max(hi, v)
			}
			assert.Equal(t, [2]float32{-1, 1}, [2]float32{lo, hi}, "range of the values")
			m32, err := tc.load(data.Resolution(32), data.RGB())
			require.NoError(t, err)
			assert.Equal(t, []int{3, 32, 32}, m32.Image(0).Shape(), "Resolution(32), RGB: shape")
		})
	}
}

// TestDisjoint: no image of an evaluation part is also in its training part.
func TestDisjoint(t *testing.T) {
	for _, pair := range []struct {
		name        string
		train, eval func(...data.Option) (*data.Memory, error)
	}{{"fashion", FashionMNIST, FashionMNISTEval}, {"mnist", MNIST, MNISTEval}} {
		train, err := pair.train()
		require.NoError(t, err)
		eval, err := pair.eval()
		require.NoError(t, err)
		seen := map[string]bool{}
		for i := range train.Len() {
			seen[key(train.Image(i).Data())] = true
		}
		dup := 0
		for i := range eval.Len() {
			if seen[key(eval.Image(i).Data())] {
				dup++
			}
		}
		assert.Zero(t, dup, "%s: evaluation images also in the training part", pair.name)
	}
}

// TestMNISTEvalEvenIndices checks, where the full test set has been fetched
// (scripts/data/fetch_full.sh), that every image of MNISTEval is an image at
// an even index of MNIST's test set.
func TestMNISTEvalEvenIndices(t *testing.T) {
	home, _ := os.UserHomeDir()
	full, err := LoadFull(filepath.Join(home, ".cache", "gantry", "mnist"), "t10k", DigitClasses)
	if err != nil {
		t.Skipf("the full MNIST test set is not fetched: %v", err)
	}
	at := map[string][]int{}
	for i := range full.Len() {
		k := key(full.Image(i).Data())
		at[k] = append(at[k], i)
	}
	eval, err := MNISTEval()
	require.NoError(t, err)
	for i := range eval.Len() {
		even := false
		for _, j := range at[key(eval.Image(i).Data())] {
			even = even || j%2 == 0
		}
		require.True(t, even, "MNISTEval image %d is not at an even index of the test set (found at %v)", i, at[key(eval.Image(i).Data())])
	}
}

func key(v []float32) string {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte((x + 1) * 127.5)
	}
	return string(b)
}

func TestLoadFullMissing(t *testing.T) {
	_, err := LoadFull(t.TempDir(), "train", DigitClasses)
	assert.Error(t, err, "a folder without the files")
}
