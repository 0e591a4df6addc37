package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/internal/version"
	"github.com/gantry-go/gantry/tensor"
)

// ManifestFile is the record `gantry dataset` writes beside the images.
const ManifestFile = "manifest.json"

// datasetCmd is `gantry dataset`.
type datasetCmd struct {
	outFlags
	src dataFlags
	Out string
}

func (o *datasetCmd) define(f *flags) {
	o.outFlags.define(f)
	o.src.define(f, "src", "the folder to convert (or give it as the first argument)", 0)
	f.String(&o.Out, "out", "", "the folder to write: one PNG per image (class sub-folders kept) and manifest.json")
}

func (o *datasetCmd) check(pos []string) error {
	switch {
	case len(pos) == 1 && o.src.Spec == "":
		o.src.Spec = pos[0]
	case len(pos) > 1 || len(pos) == 1:
		return fmt.Errorf("give one source folder; got %q", append(pos, o.src.Spec))
	}
	if o.src.Spec == "" {
		return errors.New("give the folder to convert: gantry dataset SRC --out DIR --resolution R")
	}
	if o.Out == "" {
		return errors.New("--out is required: the folder to write the clean dataset to")
	}
	if o.src.Resolution == 0 {
		return errors.New("--resolution is required: the side of the square images to write (16, 32, 64 or 128)")
	}
	return o.src.check("src", true)
}

type manifest struct {
	Gantry     string          `json:"gantry_version"`
	Created    string          `json:"created"`
	Source     string          `json:"source"`
	Resolution int             `json:"resolution"`
	Channels   int             `json:"channels"`
	Resize     string          `json:"resize"`
	Subset     int             `json:"subset,omitempty"`
	SubsetSeed uint64          `json:"subset_seed,omitempty"`
	Classes    []string        `json:"classes,omitempty"`
	Images     int             `json:"images"`
	Files      []manifestFile  `json:"files"`
	Skipped    []manifestSkip  `json:"skipped"`
	Counts     map[string]int  `json:"counts_per_class,omitempty"`
	Extra      json.RawMessage `json:"extra,omitempty"`
}

type manifestFile struct {
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Label     int    `json:"label"`
	Source    string `json:"source,omitempty"`
	SourceSHA string `json:"source_sha256,omitempty"`
}

type manifestSkip struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

func (o *datasetCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	info, err := os.Stat(o.src.Spec)
	if err != nil || !info.IsDir() {
		return fmt.Errorf("%s: not a folder; give the folder of images to convert", o.src.Spec)
	}
	// Every file that cannot be used is listed first, with its reason,
	// before anything is written.
	ds, err := o.src.open(o.src.Spec, o.src.Resolution, o.src.Channels)
	if err != nil {
		return err
	}
	var skipped []manifestSkip
	for _, s := range ds.Skipped {
		rel, _ := filepath.Rel(o.src.Spec, s.Path)
		skipped = append(skipped, manifestSkip{File: rel, Reason: s.Err.Error()})
		c.out.info("bad file %s: %v", rel, s.Err)
		c.out.event("skipped", map[string]any{"file": rel, "reason": s.Err.Error()})
	}
	mem, _ := ds.Dataset.(*data.Memory)
	if v, ok := ds.Dataset.(*data.View); ok {
		mem, _ = v.Base().(*data.Memory)
	}
	var sources []string
	if mem != nil {
		sources = sourceFiles(o.src.Spec, mem)
	}
	index := func(i int) int { return i }
	if v, ok := ds.Dataset.(*data.View); ok {
		idx := v.Indices()
		index = func(i int) int { return idx[i] }
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", o.Out, err)
	}
	classes := data.Classes(ds.Dataset)
	m := manifest{Gantry: version.Version, Created: time.Now().UTC().Format(time.RFC3339), Source: o.src.Spec,
		Resolution: o.src.Resolution, Channels: ds.Channels, Resize: ds.Resize, Classes: classes, Images: ds.Len(), Skipped: skipped}
	if o.src.Subset > 0 {
		m.Subset, m.SubsetSeed = o.src.Subset, o.src.SubsetSeed
	}
	if len(classes) > 0 {
		m.Counts = map[string]int{}
	}
	shape := data.ImageShape(ds.Dataset)
	for i := 0; i < ds.Len(); i++ {
		x := tensor.New(1, shape[0], shape[1], shape[2])
		copy(x.Data(), ds.Image(i).Data())
		label := ds.Label(i)
		dir := o.Out
		if label >= 0 && label < len(classes) {
			dir = filepath.Join(o.Out, classes[label])
			m.Counts[classes[label]]++
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		name := filepath.Join(dir, fmt.Sprintf("%05d.png", i))
		if err := savePNG(name, toImage(x, 0)); err != nil {
			return err
		}
		rel, _ := filepath.Rel(o.Out, name)
		f := manifestFile{File: rel, Label: label}
		if f.SHA256, err = hashFile(name); err != nil {
			return err
		}
		if sources != nil {
			src := sources[index(i)]
			f.Source, _ = filepath.Rel(o.src.Spec, src)
			f.SourceSHA, _ = hashFile(src)
		}
		m.Files = append(m.Files, f)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(o.Out, ManifestFile), append(b, '\n')); err != nil {
		return err
	}
	text := fmt.Sprintf("wrote %d images of %dx%d with %d channels to %s (%d bad files left out); manifest %s",
		ds.Len(), o.src.Resolution, o.src.Resolution, ds.Channels, o.Out, len(skipped), filepath.Join(o.Out, ManifestFile))
	c.out.result(text, map[string]any{"out": o.Out, "images": ds.Len(), "skipped": len(skipped), "manifest": filepath.Join(o.Out, ManifestFile)})
	return nil
}

// sourceFiles returns the file of each image of mem, in the order
// data.ImageFolder reads them (folders by name, depth first, names starting
// with "." left out, skipped files removed), or nil if that order cannot be
// matched to mem.
func sourceFiles(dir string, mem *data.Memory) []string {
	skipped := map[string]bool{}
	for _, s := range mem.Skipped() {
		skipped[s.Path] = true
	}
	var files []string
	var walk func(path string, depth int)
	walk = func(path string, depth int) {
		entries, err := os.ReadDir(path)
		if err != nil || depth > 64 {
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(path, name)
			st, err := os.Stat(p)
			if err == nil && st.IsDir() {
				walk(p, depth+1)
				continue
			}
			if slices.Contains([]string{".png", ".jpg", ".jpeg", ".gif"}, strings.ToLower(filepath.Ext(name))) && !skipped[p] {
				files = append(files, p)
			}
		}
	}
	walk(dir, 0)
	if len(files) != mem.Len() {
		return nil
	}
	return files
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
