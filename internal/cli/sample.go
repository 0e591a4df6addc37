package cli

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-go/gantry/gan"
)

// sampleCmd is `gantry sample`.
type sampleCmd struct {
	outFlags
	Model string
	N     int
	Out   string
	Seed  uint64
	Class int
	Cols  int
}

func (o *sampleCmd) define(f *flags) {
	o.outFlags.define(f)
	f.String(&o.Model, "model", "", "the model: a model file, a run folder (its best model, else its latest checkpoint) or shipped:NAME")
	f.Int(&o.N, "n", 64, "number of samples")
	f.String(&o.Out, "out", "", "a .png file for one grid, or a folder for one PNG per sample")
	f.Uint64(&o.Seed, "seed", 1, "seed of the latent vectors (and of the labels of a conditional model)")
	f.Int(&o.Class, "class", -1, "class of every sample of a conditional model (-1: drawn at random)")
	f.Int(&o.Cols, "cols", 0, "images per row of the grid (0: a square grid)")
}

func (o *sampleCmd) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if o.Model == "" {
		return errors.New("--model is required: a model file, a run folder or shipped:NAME")
	}
	if o.Out == "" {
		return errors.New("--out is required: grid.png, or a folder for one file per sample")
	}
	if err := inRange("n", o.N, 1, 100_000); err != nil {
		return err
	}
	if err := inRange("cols", o.Cols, 0, 1000); err != nil {
		return err
	}
	return inRange("class", o.Class, -1, 100_000)
}

func (o *sampleCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	m, path, err := openModel("model", o.Model)
	if err != nil {
		return err
	}
	g := m.Sampler()
	r := rand.New(rand.NewPCG(o.Seed, 0x5a3b1e))
	var labels []int
	if m.Config.Conditional() {
		labels = make([]int, o.N)
		for i := range labels {
			if o.Class >= 0 {
				labels[i] = o.Class
			} else {
				labels[i] = r.IntN(m.Config.Classes)
			}
		}
		if o.Class >= m.Config.Classes {
			return fmt.Errorf("--class %d: the model has classes 0 to %d", o.Class, m.Config.Classes-1)
		}
	} else if o.Class >= 0 {
		return fmt.Errorf("--class %d: %s is not conditional; drop --class", o.Class, path)
	}
	x := g.SampleLabels(o.N, labels, r)
	fields := map[string]any{"model": path, "n": o.N, "seed": o.Seed}
	if strings.EqualFold(filepath.Ext(o.Out), ".png") {
		cols := o.Cols
		if cols == 0 {
			cols = squareCols(o.N)
		}
		if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
			return err
		}
		if err := gan.SaveGrid(o.Out, x, cols); err != nil {
			return err
		}
		fields["grid"] = o.Out
		c.out.result(fmt.Sprintf("wrote %d samples of %s (%s) to %s", o.N, path, m.Config, o.Out), fields)
		return nil
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", o.Out, err)
	}
	for i := 0; i < o.N; i++ {
		name := filepath.Join(o.Out, fmt.Sprintf("sample-%05d.png", i))
		if labels != nil {
			name = filepath.Join(o.Out, fmt.Sprintf("sample-%05d-class%d.png", i, labels[i]))
		}
		if err := savePNG(name, toImage(x, i)); err != nil {
			return err
		}
	}
	fields["folder"] = o.Out
	c.out.result(fmt.Sprintf("wrote %d samples of %s (%s) to %s/", o.N, path, m.Config, o.Out), fields)
	return nil
}

func squareCols(n int) int {
	c := 1
	for c*c < n {
		c++
	}
	return c
}
