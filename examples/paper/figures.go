package main

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gantry-go/gantry/gan"
)

type figure struct{ alt, file string }

// cellGroup is a set of cells drawn in one plot and one sample strip.
type cellGroup struct {
	name   string
	labels []string
	cells  []Spec
}

// groups splits a table's cells into plots: all of them when there are at
// most seven, else one plot per row (Table 4: one per target).
func groups(t Table) []cellGroup {
	var all []cellGroup
	for _, g := range t.Grids {
		gr := g.Grid
		label := func(r, c int) string {
			switch {
			case len(gr.Rows) == 1:
				return gr.Cols[c]
			case len(gr.Cols) == 1:
				return gr.Rows[r]
			}
			return gr.Rows[r] + ", " + gr.Cols[c]
		}
		if len(gr.Rows)*len(gr.Cols) <= 7 {
			cg := cellGroup{name: g.Name}
			for r := range gr.Rows {
				for c := range gr.Cols {
					if s, ok := gr.Cell(r, c); ok {
						cg.cells = append(cg.cells, s.norm())
						cg.labels = append(cg.labels, label(r, c))
					}
				}
			}
			all = append(all, cg)
			continue
		}
		for r, row := range gr.Rows {
			cg := cellGroup{name: row}
			for c, col := range gr.Cols {
				if s, ok := gr.Cell(r, c); ok {
					cg.cells = append(cg.cells, s.norm())
					cg.labels = append(cg.labels, col)
				}
			}
			all = append(all, cg)
		}
	}
	return all
}

// figures draws a table's metric curves and sample strips into dir and
// returns them in order; cells without finished runs are left out.
func (res *Results) figures(t Table, seeds int, dir string) ([]figure, error) {
	var figs []figure
	for gi, g := range groups(t) {
		base := "table" + t.Key
		if len(groups(t)) > 1 {
			base += fmt.Sprintf("-%d", gi+1)
		}
		for _, m := range reportMetrics[:2] {
			file := base + "-" + m.Key + ".png"
			ok, err := res.plotCurves(g, seeds, m, filepath.Join(dir, file))
			if err != nil {
				return nil, err
			}
			if ok {
				figs = append(figs, figure{fmt.Sprintf("%s over iterations, %s", strings.ToUpper(m.Key), groupName(t, g)), file})
			}
		}
		file := base + "-samples.png"
		ok, err := res.strip(g, filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		if ok {
			figs = append(figs, figure{"fixed-noise samples over iterations (seed 1), " + groupName(t, g), file})
		}
	}
	return figs, nil
}

func groupName(t Table, g cellGroup) string {
	if g.name != "" {
		return g.name
	}
	return "table " + t.Key
}

// meanCurve returns a cell's metric over iterations, averaged over the seeds
// that evaluated each iteration.
func (res *Results) meanCurve(cell Spec, seeds int, m metricDef) plotter.XYs {
	sum := map[int][]float64{}
	for _, o := range res.runs(cell, seeds) {
		for _, p := range o.Curve {
			v := p.FID
			if m.Key == "kid" {
				v = p.KID
			}
			sum[p.Iteration] = append(sum[p.Iteration], v*m.Scale)
		}
	}
	var xy plotter.XYs
	for _, it := range slices.Sorted(mapKeys(sum)) {
		xy = append(xy, plotter.XY{X: float64(it), Y: stat(sum[it]).Mean})
	}
	return xy
}

func (res *Results) plotCurves(g cellGroup, seeds int, m metricDef, path string) (bool, error) {
	p := plot.New()
	p.Title.Text = strings.SplitN(m.Name, " (", 2)[0] + " during fine-tuning"
	if g.name != "" {
		p.Title.Text += ": " + g.name
	}
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = m.Name
	p.Legend.Top = true
	n := 0
	for i, c := range g.cells {
		xy := res.meanCurve(c, seeds, m)
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return false, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(g.labels[i], l)
		n++
	}
	if n == 0 {
		return false, nil
	}
	return true, p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// strip draws, for each cell's first seed, the first images of its
// fixed-noise grids at every iteration they were written: the paper's
// Fig. 4, pretrained rows next to scratch ones.
func (res *Results) strip(g cellGroup, path string) (bool, error) {
	type row struct {
		label string
		grids map[int]image.Image
	}
	var rows []row
	itSet := map[int]int{}
	for i, c := range g.cells {
		o, ok := res.Outcomes[c.withSeed(1).ID()]
		if !ok {
			continue
		}
		dir := filepath.Join(res.Out, o.ID)
		files, _ := filepath.Glob(filepath.Join(dir, "fakes-*.png"))
		r := row{label: g.labels[i], grids: map[int]image.Image{}}
		for _, f := range files {
			it, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "fakes-"), ".png"))
			if err != nil || filepath.Base(f) != gan.GridName(it) {
				continue
			}
			img, err := readPNG(f)
			if err != nil {
				return false, err
			}
			r.grids[it] = img
			itSet[it]++
		}
		if len(r.grids) > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return false, nil
	}
	var its []int
	for it, n := range itSet {
		if n == len(rows) {
			its = append(its, it)
		}
	}
	slices.Sort(its)
	if len(its) == 0 {
		return false, nil
	}
	// Every grid has the same layout: find an image's side from the first.
	first := rows[0].grids[its[0]].Bounds()
	res0 := res.budget()
	cols := 1
	if res0 != nil {
		for cols*cols < res0.GridSize {
			cols++
		}
	}
	side := (first.Dx()-gan.GridPadding)/cols - gan.GridPadding
	k := min(4, cols)
	cellW, cellH := gan.GridPadding+k*(side+gan.GridPadding), side+2*gan.GridPadding
	labelW := 0
	for _, r := range rows {
		labelW = max(labelW, 7*len([]rune(r.label))+8)
	}
	const headH = 16
	out := image.NewGray(image.Rect(0, 0, labelW+len(its)*(cellW+4), headH+len(rows)*(cellH+2)))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	text := func(s string, x, y int) {
		d := font.Drawer{Dst: out, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	for j, it := range its {
		text(strconv.Itoa(it), labelW+j*(cellW+4), 12)
	}
	for i, r := range rows {
		y := headH + i*(cellH+2)
		text(r.label, 2, y+cellH/2+5)
		for j, it := range its {
			x := labelW + j*(cellW+4)
			src := r.grids[it]
			draw.Draw(out, image.Rect(x, y, x+cellW, y+cellH), src, src.Bounds().Min, draw.Src)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return false, err
	}
	if err := png.Encode(f, out); err != nil {
		f.Close()
		return false, err
	}
	return true, f.Close()
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
