package shipped

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/data"
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
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Images().Shape(); !slices.Equal(got, []int{tc.n, 1, 28, 28}) {
				t.Fatalf("shape %v", got)
			}
			if !slices.Equal(m.Classes(), tc.classes) {
				t.Errorf("classes %v", m.Classes())
			}
			count := make([]int, 10)
			for _, l := range m.Labels() {
				count[l]++
			}
			for l, c := range count {
				if c != tc.n/10 {
					t.Errorf("class %d has %d images; want %d", l, c, tc.n/10)
				}
			}
			lo, hi := float32(1), float32(-1)
			for _, v := range m.Images().Data() {
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo != -1 || hi != 1 {
				t.Errorf("values in [%v, %v]; want [-1, 1]", lo, hi)
			}
			m32, err := tc.load(data.Resolution(32), data.RGB())
			if err != nil {
				t.Fatal(err)
			}
			if got := m32.Image(0).Shape(); !slices.Equal(got, []int{3, 32, 32}) {
				t.Errorf("Resolution(32), RGB: shape %v", got)
			}
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
		if err != nil {
			t.Fatal(err)
		}
		eval, err := pair.eval()
		if err != nil {
			t.Fatal(err)
		}
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
		if dup > 0 {
			t.Errorf("%s: %d evaluation images also in the training part", pair.name, dup)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	for i := range eval.Len() {
		even := false
		for _, j := range at[key(eval.Image(i).Data())] {
			even = even || j%2 == 0
		}
		if !even {
			t.Fatalf("MNISTEval image %d is not at an even index of the test set (found at %v)", i, at[key(eval.Image(i).Data())])
		}
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
	if _, err := LoadFull(t.TempDir(), "train", DigitClasses); err == nil {
		t.Error("no error for a folder without the files")
	}
}
