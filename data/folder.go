package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gantry-go/gantry/tensor"
)

// imageExt lists the file name extensions ImageFolder reads (case-insensitive).
var imageExt = []string{".png", ".jpg", ".jpeg", ".gif"}

// ImageFolder reads every PNG, JPEG and GIF file under dir, recursively, into
// memory. Files with other extensions, and names starting with ".", are
// ignored.
//
// Labels come from folders: if dir has sub-folders holding images, each
// sub-folder (with everything below it) is a class, the classes sorted by
// name are labels 0, 1, ..., and images directly in dir are unlabeled (-1).
// Otherwise the dataset is unlabeled.
//
// Images become RGB (or grayscale with Gray), with any transparency
// composited on white (palette, gray+alpha and 16-bit images are converted to
// 8-bit RGB first, as the paper's uint8 pipeline does), at the size given by Resolution (else their own size,
// which must then be the same for all). The images are decoded in parallel
// (see Workers).
//
// A file that cannot be used (unreadable, corrupt, truncated, empty, a
// declared size over MaxPixels, a size differing from the others) is skipped
// and recorded, with its path and reason, in the result's Skipped; with
// Strict, the first such file in path order is returned as the error. It is
// an error, naming dir, if dir holds no usable image. Errors are *FileError.
func ImageFolder(dir string, opts ...Option) (*Memory, error) {
	cfg := newConfig(opts)
	if cfg.channels == 0 {
		cfg.channels = 3
	}
	files, labels, classes, err := listImages(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &FileError{dir, fmt.Errorf("%w: no PNG, JPEG or GIF file found", ErrEmpty)}
	}

	type result struct {
		pix  []float32
		w, h int
		err  error
	}
	res := make([]result, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(cfg.workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv := &converter{cfg: &cfg}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				r := &res[i]
				r.pix, r.w, r.h, r.err = decodeFile(files[i], cv)
			}
		}()
	}
	wg.Wait()

	// The first decoded image fixes the size when Resolution is not given.
	w, h := cfg.width, cfg.height
	var skipped []*FileError
	var keep []int
	for i := range res {
		r := &res[i]
		if r.err == nil && w == 0 {
			w, h = r.w, r.h
		}
		if r.err == nil && (r.w != w || r.h != h) {
			r.err = fmt.Errorf("size %dx%d differs from %dx%d of the images before it (use Resolution to resize)", r.w, r.h, w, h)
		}
		if r.err != nil {
			fe := &FileError{files[i], r.err}
			if cfg.strict {
				return nil, fe
			}
			skipped = append(skipped, fe)
			continue
		}
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		return nil, &FileError{dir, fmt.Errorf("%w: none of %d image files could be read (first: %v)", ErrEmpty, len(files), skipped[0])}
	}

	c := cfg.channels
	per := c * w * h
	buf := make([]float32, len(keep)*per)
	outLabels := make([]int, len(keep))
	for j, i := range keep {
		copy(buf[j*per:(j+1)*per], res[i].pix)
		outLabels[j] = labels[i]
	}
	m := FromTensor(tensor.FromSlice(buf, len(keep), c, h, w), outLabels, classes)
	m.skipped = skipped
	return m, nil
}

// listImages walks dir and returns its image files in lexical order with
// their labels, and the class names.
func listImages(dir string) (files []string, labels []int, classes []string, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, nil, &FileError{dir, unwrapPath(err)}
	}
	if !st.IsDir() {
		return nil, nil, nil, &FileError{dir, errors.New("not a folder")}
	}
	var class []string // per file: its first-level folder, or ""
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &FileError{path, unwrapPath(err)}
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !slices.Contains(imageExt, strings.ToLower(filepath.Ext(path))) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return &FileError{path, err}
		}
		top := ""
		if k := strings.IndexRune(rel, filepath.Separator); k >= 0 {
			top = rel[:k]
		}
		files = append(files, path)
		class = append(class, top)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range class {
		if c != "" && !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	labels = make([]int, len(files))
	for i, c := range class {
		labels[i] = -1
		if c != "" {
			labels[i], _ = slices.BinarySearch(classes, c)
		}
	}
	return files, labels, classes, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path a FileError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// decodeFile reads one image file and converts it with cv.
func decodeFile(path string, cv *converter) (pix []float32, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, unwrapPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, unwrapPath(err)
	}
	if st.Size() == 0 {
		return nil, 0, 0, errors.New("empty file")
	}
	br := bufio.NewReader(f)
	cfg, format, err := image.DecodeConfig(br)
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, 0, 0, fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
		}
		return nil, 0, 0, fmt.Errorf("reading image header: %w", err)
	}
	if err := checkSize(cfg.Width, cfg.Height, cv.cfg.maxPixels); err != nil {
		return nil, 0, 0, fmt.Errorf("%s %w", format, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, 0, unwrapPath(err)
	}
	br.Reset(f)
	img, _, err := image.Decode(br)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decoding %s: %w", format, err)
	}
	src := opaque(img)
	r, w, h := cv.outSize(src.Bounds())
	if r.Empty() {
		return nil, 0, 0, fmt.Errorf("%s image is empty", format)
	}
	pix = make([]float32, cv.cfg.channels*w*h)
	cv.put(pix, src, r, w, h, cv.cfg.channels)
	return pix, w, h, nil
}

// checkSize refuses a declared size that is not positive or exceeds max
// pixels.
func checkSize(w, h int, max int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: invalid declared size %dx%d", ErrFormat, w, h)
	}
	if int64(w)*int64(h) > max {
		return fmt.Errorf("header declares %dx%d = %d pixels, over the limit of %d set by MaxPixels: %w", w, h, int64(w)*int64(h), max, ErrTooLarge)
	}
	return nil
}
