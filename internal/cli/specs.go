package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
)

// shippedData are the data sets embedded in gantry, by the names --data and
// --real take after "shipped:".
var shippedData = []struct {
	name  string
	open  func(...data.Option) (*data.Memory, error)
	about string
}{
	{"fashion", shipped.FashionMNIST, "5,000 Fashion-MNIST training images (500 a class)"},
	{"fashion-eval", shipped.FashionMNISTEval, "1,000 held-out Fashion-MNIST test images"},
	{"mnist", shipped.MNIST, "2,000 MNIST training digits (200 a digit)"},
	{"mnist-eval", shipped.MNISTEval, "1,000 held-out MNIST test digits"},
}

func shippedDataNames() string {
	var s []string
	for _, d := range shippedData {
		s = append(s, d.name)
	}
	return strings.Join(s, ", ")
}

// dataFlags select and convert images: --data and its companions.
type dataFlags struct {
	Spec       string
	Resolution int
	Channels   int
	Filter     string
	Crop       bool
	Subset     int
	SubsetSeed uint64
}

func (d *dataFlags) define(f *flags, name, usage string, resolution int) {
	f.String(&d.Spec, name, "", usage)
	resUsage := "image side in pixels: 16, 32, 64 or 128"
	if resolution == 0 {
		resUsage += "; 0 takes the model's"
	}
	f.Int(&d.Resolution, "resolution", resolution, resUsage)
	f.Int(&d.Channels, "channels", 0, "1 (gray) or 3 (RGB); 0 takes the model's, or the data's own")
	f.String(&d.Filter, "filter", "bilinear", "resize filter: bilinear, approx-bilinear, catmull-rom or nearest")
	f.Bool(&d.Crop, "crop", false, "crop images to a centred square before resizing instead of stretching them")
	f.Int(&d.Subset, "subset", 0, "use N images drawn with --subset-seed, the same number from each class when labelled (0: all)")
	f.Uint64(&d.SubsetSeed, "subset-seed", 1, "seed of --subset")
}

func (d *dataFlags) check(name string, required bool) error {
	if d.Spec == "" && required {
		return fmt.Errorf("--%s is required: a folder of images, an IDX file or shipped:NAME (%s)", name, shippedDataNames())
	}
	if d.Resolution != 0 {
		if err := checkResolution(d.Resolution); err != nil {
			return err
		}
	}
	if d.Channels != 0 && d.Channels != 1 && d.Channels != 3 {
		return fmt.Errorf("--channels %d: want 1 (gray) or 3 (RGB)", d.Channels)
	}
	if _, err := kernel(d.Filter); err != nil {
		return err
	}
	if d.Subset < 0 {
		return fmt.Errorf("--subset %d: want a positive number of images, or 0 for all", d.Subset)
	}
	return nil
}

func checkResolution(r int) error {
	switch r {
	case 16, 32, 64, 128:
		return nil
	}
	return fmt.Errorf("--resolution %d: the paper's networks take 16, 32, 64 or 128", r)
}

func filterName(name string) string {
	switch name {
	case "bilinear", "":
		return "bilinear (anti-aliased)"
	}
	return name
}

func kernel(name string) (data.Kernel, error) {
	switch name {
	case "bilinear", "":
		return data.BiLinear, nil
	case "approx-bilinear":
		return data.ApproxBiLinear, nil
	case "catmull-rom":
		return data.CatmullRom, nil
	case "nearest":
		return data.Nearest, nil
	}
	return 0, fmt.Errorf("--filter %q: want bilinear, approx-bilinear, catmull-rom or nearest", name)
}

// dataset is an opened --data with what the run folder and the protocol
// record of it.
type dataset struct {
	data.Dataset
	Spec     string // as given
	Desc     string // the spec and any subset, for protocols
	Name     string // short, for run folder names: "fashion1k"
	Channels int
	Size     int
	Resize   string // "bilinear to 32x32"
	Skipped  []*data.FileError
}

// open reads the data d names at the given resolution and channel count (0:
// the data's own channels).
func (d *dataFlags) open(spec string, resolution, channels int) (*dataset, error) {
	k, _ := kernel(d.Filter)
	opts := []data.Option{data.Resolution(resolution), data.Filter(k)}
	if d.Crop {
		opts = append(opts, data.CenterCrop())
	}
	ds := &dataset{Spec: spec, Desc: spec, Size: resolution}
	ds.Resize = fmt.Sprintf("resize %s to %dx%d", filterName(d.Filter), resolution, resolution)
	if d.Crop {
		ds.Resize = "centre crop, " + ds.Resize
	}
	var mem *data.Memory
	var err error
	switch {
	case strings.HasPrefix(spec, "shipped:"):
		name := strings.TrimPrefix(spec, "shipped:")
		var open func(...data.Option) (*data.Memory, error)
		for _, s := range shippedData {
			if s.name == name {
				open = s.open
			}
		}
		if open == nil {
			return nil, fmt.Errorf("no shipped data set %q; the shipped ones are %s", name, shippedDataNames())
		}
		if channels == 3 {
			opts = append(opts, data.RGB())
		}
		mem, err = open(opts...)
		ds.Name = name
	default:
		info, statErr := os.Stat(spec)
		if errors.Is(statErr, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such folder or file; give a folder of images, an IDX file or shipped:NAME (%s)", spec, shippedDataNames())
		}
		if statErr != nil {
			return nil, statErr
		}
		ds.Name = filepath.Base(filepath.Clean(spec))
		if info.IsDir() {
			switch channels {
			case 1:
				opts = append(opts, data.Gray())
			default:
				opts = append(opts, data.RGB())
			}
			mem, err = data.ImageFolder(spec, opts...)
			if errors.Is(err, data.ErrEmpty) {
				return nil, fmt.Errorf("%s holds no PNG, JPEG or GIF image; give a folder of images (gantry dataset converts and checks one)", spec)
			}
			if mem != nil {
				ds.Skipped = mem.Skipped()
			}
		} else {
			if channels == 3 {
				opts = append(opts, data.RGB())
			}
			labels := idxLabels(spec)
			ds.Name = strings.TrimSuffix(strings.TrimSuffix(ds.Name, ".gz"), "-images-idx3-ubyte")
			mem, err = data.LoadIDX(spec, labels, opts...)
		}
	}
	if err != nil {
		return nil, err
	}
	ds.Dataset = mem
	ds.Channels = data.ImageShape(mem)[0]
	if d.Subset > 0 {
		if d.Subset > mem.Len() {
			return nil, fmt.Errorf("--subset %d asks for more images than %s holds (%d)", d.Subset, spec, mem.Len())
		}
		r := rand.New(rand.NewPCG(d.SubsetSeed, 0x5eed))
		if hasLabels(mem) {
			v, err := data.BalancedSubset(mem, d.Subset, r)
			if err != nil {
				return nil, fmt.Errorf("--subset %d of %s: %w", d.Subset, spec, err)
			}
			ds.Dataset = v
		} else {
			ds.Dataset = data.Subset(mem, d.Subset, r)
		}
		ds.Name += shortCount(d.Subset)
		ds.Desc = fmt.Sprintf("%s (a subset of %d, seed %d)", spec, d.Subset, d.SubsetSeed)
	}
	ds.Name = sanitize(ds.Name)
	return ds, nil
}

func hasLabels(ds data.Dataset) bool {
	for i := 0; i < ds.Len(); i++ {
		if ds.Label(i) >= 0 {
			return true
		}
	}
	return false
}

// idxLabels returns the labels file beside an IDX images file
// ("train-images-idx3-ubyte.gz" -> "train-labels-idx1-ubyte.gz"), or "".
func idxLabels(images string) string {
	base := filepath.Base(images)
	if !strings.Contains(base, "images-idx3") {
		return ""
	}
	p := filepath.Join(filepath.Dir(images), strings.Replace(base, "images-idx3", "labels-idx1", 1))
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func shortCount(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-.")
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		s = "data"
	}
	return s
}

// openModel reads a model from a file, a run folder (its best model, else
// its latest checkpoint) or shipped:NAME.
func openModel(flag, spec string) (*gan.Model, string, error) {
	if spec == "" {
		return nil, "", &UsageError{Msg: fmt.Sprintf("--%s is required: a model file, a run folder or shipped:NAME (%s)", flag, strings.Join(sources.Names(), ", "))}
	}
	if strings.HasPrefix(spec, sources.Prefix) {
		m, err := sources.Open(spec)
		if errors.Is(err, sources.ErrNotShipped) {
			return nil, "", fmt.Errorf("--%s %s: the weights are not shipped in this version of gantry; give a model file or a run folder (gantry train makes one)", flag, spec)
		}
		return m, spec, err
	}
	info, err := os.Stat(spec)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("--%s %s: no such file or folder; give a model file, a run folder or shipped:NAME", flag, spec)
	}
	if err != nil {
		return nil, "", err
	}
	path := spec
	if info.IsDir() {
		path = filepath.Join(spec, gan.BestFile)
		if _, err := os.Stat(path); err != nil {
			path, err = gan.LatestCheckpoint(spec)
			if err != nil {
				return nil, "", fmt.Errorf("--%s %s: the folder holds no %s and no checkpoint; give a model file or a run folder that has trained", flag, spec, gan.BestFile)
			}
		}
	}
	m, err := gan.Load(path)
	if err != nil {
		return nil, "", fmt.Errorf("--%s: %w; give a model file written by gantry (train, finetune, a run folder) or shipped:NAME", flag, err)
	}
	return m, path, nil
}
