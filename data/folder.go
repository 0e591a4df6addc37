package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gantry-go/gantry/tensor"
)

// imageExt lists the file name extensions ImageFolder reads (case-insensitive).
var imageExt = []string{".png", ".jpg", ".jpeg", ".gif"}

// ImageFolder reads every PNG, JPEG and GIF file under dir, recursively, into
// memory. Files with other extensions, and names starting with ".", are
// ignored. Symbolic links are followed, dir itself included; a link back to
// a folder it lies in is an error naming it.
//
// Labels come from folders: if dir has sub-folders holding images, each
// sub-folder (with everything below it) is a class, the classes sorted by
// name are labels 0, 1, ..., and images directly in dir are unlabeled (-1).
// Otherwise the dataset is unlabeled.
//
// Images become RGB (or grayscale with Gray), with any transparency
// composited on white (palette, gray+alpha and 16-bit images are converted to
// 8-bit RGB first, as the paper's uint8 pipeline does), at the size given by
// Resolution. Without Resolution every image keeps its own size, which must
// then be the same for all: if the headers declare several sizes, the error
// lists them with their files. The images are decoded in parallel (see
// Workers), each straight into its place in the dataset.
//
// Before any pixel memory is allocated, the headers are read and checked
// against MaxPixels (for each image) and MaxMemory (for the dataset plus the
// images being decoded at once); exceeding MaxMemory is an error that says
// how much is needed.
//
// A file that cannot be used (not a regular file, unreadable, corrupt,
// truncated, empty, a declared size over MaxPixels) is skipped and recorded,
// with its path and reason, in the result's Skipped; with Strict, the first
// such file in path order is returned as the error (of the files whose
// headers cannot be read, if any: those are found before any pixel is
// decoded). It is an error, naming dir, if dir holds no usable image.
// Errors are *FileError.
func ImageFolder(dir string, opts ...Option) (*Memory, error) {
	cfg := newConfig(opts)
	if cfg.channels == 0 {
		cfg.channels = 3
	}
	files, classes, err := listImages(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &FileError{dir, fmt.Errorf("%w: no PNG, JPEG or GIF file found", ErrEmpty)}
	}

	// The headers first: sizes, limits and the memory decoding will take.
	forEach(len(files), cfg.workers, func(i int) {
		if f := &files[i]; f.err == nil {
			f.err = contain(func() (err error) { f.head, err = readHeader(f.path, &cfg); return err })
		}
	})
	firstBad := func() *FileError {
		for _, f := range files {
			if f.err != nil {
				return &FileError{f.path, f.err}
			}
		}
		return nil
	}
	if fe := firstBad(); fe != nil && cfg.strict {
		return nil, fe
	}
	var ok []int
	for i, f := range files {
		if f.err == nil {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return nil, &FileError{dir, fmt.Errorf("%w: none of %d image files could be read (first: %v)", ErrEmpty, len(files), firstBad())}
	}
	w, h, err := commonSize(files, ok)
	if err != nil {
		return nil, &FileError{dir, err}
	}
	c := cfg.channels
	per := c * w * h
	need := int64(len(ok)) * int64(per) * 4
	if need > cfg.maxMemory {
		return nil, &FileError{dir, fmt.Errorf("%w: %d images of %dx%dx%d take %d bytes, over the limit of %d set by MaxMemory "+
			"(raise it with data.MaxMemory(n), or shrink them with Resolution)", ErrTooLarge, len(ok), c, h, w, need, cfg.maxMemory)}
	}
	spare := cfg.maxMemory - need

	// Then the pixels, each image straight into its slot, while the images
	// being decoded at once fit in what MaxMemory leaves.
	buf := make([]float32, len(ok)*per)
	mem := newBudget(spare)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(cfg.workers, len(ok)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv := &converter{cfg: &cfg}
			for {
				j := int(next.Add(1) - 1)
				if j >= len(ok) {
					return
				}
				f := &files[ok[j]]
				if f.head.cost > spare {
					f.err = fmt.Errorf("%w: decoding it takes about %d bytes, over the %d that MaxMemory (%d) leaves beside the dataset's %d; raise it with data.MaxMemory(n)",
						ErrTooLarge, f.head.cost, spare, cfg.maxMemory, need)
					continue
				}
				mem.acquire(f.head.cost)
				f.err = contain(func() error { return decodeInto(buf[j*per:(j+1)*per], f.path, &f.head, cv) })
				mem.release(f.head.cost)
			}
		}()
	}
	wg.Wait()

	// Images that failed after their header was read leave a gap, closed
	// by moving the later ones down.
	if fe := firstBad(); fe != nil && cfg.strict {
		return nil, fe
	}
	var skipped []*FileError
	labels := make([]int, 0, len(ok))
	for _, f := range files {
		if f.err != nil {
			skipped = append(skipped, &FileError{f.path, f.err})
		}
	}
	for j, i := range ok {
		if files[i].err != nil {
			continue
		}
		k := len(labels)
		if k != j {
			copy(buf[k*per:(k+1)*per], buf[j*per:(j+1)*per])
		}
		labels = append(labels, files[i].label)
	}
	if len(labels) == 0 {
		return nil, &FileError{dir, fmt.Errorf("%w: none of %d image files could be read (first: %v)", ErrEmpty, len(files), skipped[0])}
	}
	n := len(labels)
	m := FromTensor(tensor.FromSlice(buf[:n*per:n*per], n, c, h, w), labels, classes)
	m.skipped = skipped
	return m, nil
}

// imageFile is a file ImageFolder found, with what it learnt of it.
type imageFile struct {
	path  string
	label int
	head  header
	err   error // why it cannot be used
}

// header is what an image file's header tells.
type header struct {
	format string
	w, h   int   // the size ImageFolder will give it
	cost   int64 // bytes decoding and converting it takes, roughly
}

// commonSize returns the size shared by the files ok, or an error listing
// the sizes and the files of each.
func commonSize(files []imageFile, ok []int) (w, h int, err error) {
	bySize := map[[2]int][]string{}
	var sizes [][2]int
	for _, i := range ok {
		s := [2]int{files[i].head.w, files[i].head.h}
		if bySize[s] == nil {
			sizes = append(sizes, s)
		}
		bySize[s] = append(bySize[s], files[i].path)
	}
	if len(sizes) == 1 {
		return sizes[0][0], sizes[0][1], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the images have %d different sizes; give Resolution to resize them to one:", len(sizes))
	for _, s := range sizes {
		names := bySize[s]
		fmt.Fprintf(&b, "\n  %dx%d: %d of them (%s", s[0], s[1], len(names), strings.Join(names[:min(len(names), 5)], ", "))
		if len(names) > 5 {
			b.WriteString(", ...")
		}
		b.WriteString(")")
	}
	return 0, 0, errors.New(b.String())
}

// contain returns fn's error, or its panic as an error: a decoder that
// panics on a malformed file makes that file unusable, not the process
// crash from a worker goroutine.
func contain(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the image decoder panicked: %v", v)
		}
	}()
	return fn()
}

// forEach calls fn(i) for every i in [0, n) on up to workers goroutines.
func forEach(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// budget is a counting semaphore of bytes.
type budget struct {
	mu   sync.Mutex
	cond sync.Cond
	free int64
}

func newBudget(n int64) *budget {
	b := &budget{free: n}
	b.cond.L = &b.mu
	return b
}

// acquire waits until n bytes are free and takes them; n must not exceed
// the budget's size.
func (b *budget) acquire(n int64) {
	b.mu.Lock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
	b.mu.Unlock()
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// listImages walks dir, following symbolic links, and returns its image
// files in lexical order with their labels, and the class names. An entry
// with an image's name that is not a regular file is returned with its
// reason.
func listImages(dir string) (files []imageFile, classes []string, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, &FileError{dir, unwrapPath(err)}
	}
	if !st.IsDir() {
		return nil, nil, &FileError{dir, errors.New("not a folder")}
	}
	var class []string // per file: its first-level folder, or ""
	var walk func(path, top string, parents []fs.FileInfo) error
	walk = func(path, top string, parents []fs.FileInfo) error {
		entries, err := os.ReadDir(path)
		if err != nil {
			return &FileError{path, unwrapPath(err)}
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(path, name)
			t := e.Type()
			isImage := slices.Contains(imageExt, strings.ToLower(filepath.Ext(name)))
			var info fs.FileInfo
			if t&fs.ModeSymlink != 0 {
				if info, err = os.Stat(p); err != nil {
					if isImage {
						files = append(files, imageFile{path: p, err: fmt.Errorf("broken symbolic link: %w", unwrapPath(err))})
						class = append(class, top)
					}
					continue
				}
				t = info.Mode().Type()
			}
			if t.IsDir() {
				if info == nil {
					if info, err = e.Info(); err != nil {
						return &FileError{p, unwrapPath(err)}
					}
				}
				for _, q := range parents {
					if os.SameFile(q, info) {
						return &FileError{p, fmt.Errorf("symbolic link loop: it leads back to a folder it lies in")}
					}
				}
				sub := top
				if sub == "" {
					sub = name
				}
				if err := walk(p, sub, append(parents, info)); err != nil {
					return err
				}
				continue
			}
			if !isImage {
				continue
			}
			var bad error
			if !t.IsRegular() {
				bad = fmt.Errorf("not a regular file (%v)", t)
			}
			files = append(files, imageFile{path: p, err: bad})
			class = append(class, top)
		}
		return nil
	}
	if err := walk(dir, "", []fs.FileInfo{st}); err != nil {
		return nil, nil, err
	}
	for _, c := range class {
		if c != "" && !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	for i, c := range class {
		files[i].label = -1
		if c != "" {
			files[i].label, _ = slices.BinarySearch(classes, c)
		}
	}
	return files, classes, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path a FileError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// openRegular opens path for reading, without blocking on a named pipe or
// device, and checks that it is a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, unwrapPath(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("not a regular file (%v)", st.Mode().Type())
	}
	if st.Size() == 0 {
		f.Close()
		return nil, nil, errors.New("empty file")
	}
	return f, st, nil
}

// readHeader reads an image file's header and checks it against MaxPixels.
func readHeader(path string, cfg *config) (header, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	ic, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return header{}, fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
		}
		return header{}, fmt.Errorf("reading image header: %w", err)
	}
	if err := checkSize(ic.Width, ic.Height, cfg.maxPixels); err != nil {
		return header{}, fmt.Errorf("%s %w", format, err)
	}
	cv := converter{cfg: cfg}
	_, w, h := cv.outSize(image.Rect(0, 0, ic.Width, ic.Height))
	if w <= 0 || h <= 0 {
		return header{}, fmt.Errorf("%s image is empty", format)
	}
	// The decoded image (up to 8 bytes a pixel, for 16-bit colour), its
	// copy composited on white, and the resized scratch image.
	px := int64(ic.Width) * int64(ic.Height)
	return header{format: format, w: w, h: h, cost: 12*px + 4*int64(w)*int64(h)}, nil
}

// decodeInto decodes the image file at path, whose header said hd, and
// writes it converted into out.
func decodeInto(out []float32, path string, hd *header, cv *converter) error {
	f, _, err := openRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("decoding %s: %w", hd.format, err)
	}
	src := opaque(img)
	r, w, h := cv.outSize(src.Bounds())
	if r.Empty() {
		return fmt.Errorf("%s image is empty", hd.format)
	}
	if w != hd.w || h != hd.h {
		return fmt.Errorf("decoded %s image is %dx%d but its header declares %dx%d", hd.format, w, h, hd.w, hd.h)
	}
	cv.put(out, src, r, w, h, cv.cfg.channels)
	return nil
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
