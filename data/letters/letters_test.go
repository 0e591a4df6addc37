package letters_test

import (
	"slices"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/letters"
)

func TestRender(t *testing.T) {
	a, err := letters.Render(78, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got := data.ImageShape(a); !slices.Equal(got, []int{1, 28, 28}) {
		t.Fatalf("shape = %v; want [1 28 28]", got)
	}
	counts := make([]int, 26)
	for i := range a.Len() {
		counts[a.Label(i)]++
	}
	for k, c := range counts {
		if c != 3 {
			t.Errorf("letter %s: %d images; want 3", letters.Classes[k], c)
		}
	}
	if got := data.Classes(a); !slices.Equal(got, letters.Classes) {
		t.Errorf("Classes = %v", got)
	}
	// Every image has ink and a black border, like MNIST.
	for i := range a.Len() {
		x := a.Image(i).Data()
		ink, edge := 0, 0
		for p, v := range x {
			if v > 0 {
				ink++
				if r, c := p/28, p%28; r == 0 || c == 0 || r == 27 || c == 27 {
					edge++
				}
			}
		}
		if ink < 20 || edge > 0 {
			t.Errorf("image %d (%s): %d inked pixels, %d on the border", i, letters.Classes[a.Label(i)], ink, edge)
		}
	}
}

func TestSeeds(t *testing.T) {
	a, _ := letters.Render(52, 1)
	b, _ := letters.Render(52, 1)
	c, _ := letters.Render(52, 2, data.Resolution(32))
	if !slices.Equal(a.Images().Data(), b.Images().Data()) {
		t.Error("the same seed gave different images")
	}
	c28, _ := letters.Render(52, 2)
	if slices.Equal(a.Images().Data(), c28.Images().Data()) {
		t.Error("different seeds gave the same images")
	}
	if got := data.ImageShape(c); !slices.Equal(got, []int{1, 32, 32}) {
		t.Errorf("with Resolution(32): shape %v", got)
	}
	if _, err := letters.Eval(); err != nil {
		t.Fatal(err)
	}
}
