// Package data provides the images a GAN trains and is measured on: datasets
// read from image folders, IDX files (MNIST, Fashion-MNIST) or tensors, limited
// subsets and held-out splits of them, and a loader of shuffled mini-batches.
//
// # Datasets
//
// A Dataset is a finite, indexed collection of images. Image(i) is a tensor of
// shape [C, H, W] (C is 1 for grayscale, 3 for RGB) whose values lie in
// [-1, 1]: a byte value v becomes 2*(v/255 - 0.5), as in the paper's pipeline.
// Label(i) is the image's class index, or -1 for an unlabeled image.
//
// The sources in this package decode eagerly: ImageFolder and LoadIDX read,
// convert and resize every image once, in parallel, into one [N, C, H, W]
// tensor held by a *Memory. The images used here are small (28x28 to 64x64),
// so a few thousand of them take a few megabytes, and training then never
// waits on decoding.
//
// Subset, BalancedSubset and Split select images by index without copying them;
// they return a *View of the dataset they were given. Every random choice takes
// an explicit *rand.Rand (math/rand/v2): the same seed and data give the same
// selection and the same batches.
//
// # Loading batches
//
// A Loader shuffles the dataset each epoch and copies images into one reused
// [B, C, H, W] tensor: after the first batch it allocates nothing. Batches
// run across epoch boundaries, so no image is dropped. Its State, with the
// state of its random source, resumes the exact sequence of batches from a
// checkpoint. Since the sources decode everything up front (in parallel), a
// batch is a memory copy; a caller's dataset that decodes on demand (one that
// does not implement Copier) is fetched by several goroutines at once (see
// ParallelFetch).
//
// # Ownership
//
// The tensor returned by Image may share storage with the dataset; callers
// must not modify it. A Loader owns the batch tensor and label slice it
// returns from Next; they are overwritten by the following call, so copy them
// to keep them.
//
// # Errors
//
// Misuse (an index out of range, a batch size below 1, mismatched shapes)
// panics with a message "data: Func: what is wrong", as documented on each
// function. Problems with files are returned as errors that name the file;
// each one is, or wraps, a *FileError. When ImageFolder meets an unreadable or
// corrupt image it records it and goes on with the others (see
// Memory.Skipped), unless the Strict option makes the first such file an
// error. An image whose declared size exceeds MaxPixels is refused from its
// header alone, before any pixel memory is allocated; so is a folder or IDX
// file whose dataset would not fit in MaxMemory (2 GiB by default). Images of
// different sizes without Resolution are an error listing them, never a
// dataset missing some.
//
// A dataset that panics while a Loader fetches from it on other goroutines
// does not take the process down: Next re-panics on the caller's goroutine
// with a *FetchPanic.
//
// # Subpackages
//
// Package data/shipped embeds small parts of MNIST and Fashion-MNIST (a
// Fashion-MNIST target set, a held-out evaluation set, an MNIST set) and
// reads the full sets for pretraining. Package data/augment holds the
// differentiable augmentations (DiffAugment, ADA's flip, rotation,
// translation and colour subset, and ADA's probability controller); it alone
// imports autograd, so this package depends on tensor only. Package
// data/letters renders capital letters from the Go fonts with a seeded
// jitter: a target that neither an MNIST nor a Fashion-MNIST source has seen.
package data
