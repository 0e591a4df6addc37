// Package metrics measures generative models: the Fréchet distance (FID), the
// kernel distance (KID), improved precision and recall, and the independent
// Wasserstein critic (IW) of the Transferring GANs paper.
//
// # Features and their names
//
// FID, KID and precision/recall compare two sets of feature vectors, computed
// by an Extractor from images. Their values mean something only relative to
// the extractor, so every feature set (Features, Stats) carries the
// extractor's name, comparing sets from different extractors panics, and every
// Result prints it: "FID (gantry-gray features) = 12.3 (n=1000/1000)". A
// number computed on anything but the Inception network of pytorch-fid is not
// Inception FID and must not be compared with published values.
//
// # Extractors
//
// An Extractor maps [N, C, H, W] images in [-1, 1] to [N, D] features.
// Gantry has three:
//
//   - Gray: "gantry-gray", a small CNN trained with gantry on the shipped
//     MNIST and Fashion-MNIST images (20 classes), 128-d features, for the
//     28-32 px grayscale images of CPU-scale experiments. Embedded; no
//     download.
//   - inception.Net (package metrics/inception): InceptionV3 as pytorch-fid
//     uses it, 2048-d pool features, from weights the user converts. Only
//     these give FID comparable with published numbers.
//   - Pixels: raw pixels, for tests.
//
// # Measuring a generator
//
// A generator is measured through a Sampler, a function returning n images,
// so this package needs no generator type (it does not import gan).
// SampleFeatures and DatasetFeatures extract features batch by batch, several
// batches at once; Compare and Evaluate report FID, KID and precision/recall.
// IW needs no extractor: it trains a fresh WGAN-GP critic on held-out images
// against the frozen generator and reports E f(G(z)) − E f(x) on a second
// held-out part, as the Transferring GANs paper does.
//
// # Streaming
//
// Images are never all held at once. Stats folds batches of features into a
// running mean and covariance (float64, centred per batch and merged), which
// is all FID needs. KID and precision/recall need the vectors themselves, so
// Features keeps them (N×D float32) beside its Stats; the images they came
// from are dropped batch by batch.
//
// # Numerics
//
// All statistics and distances are accumulated in float64. FID's matrix square
// root goes through symmetric eigendecompositions (gonum's EigenSym) rather
// than a general square root, which handles singular covariances and needs no
// complex numbers; see FrechetDistance. Golden tests compare it with
// scipy.linalg.sqrtm as pytorch-fid uses it (scripts/golden/gen_metrics.py).
//
// # Randomness
//
// Every random choice (KID's subsets, samplers, IW's critic) takes an explicit
// *rand.Rand from math/rand/v2: the same seed and inputs give the same numbers.
//
// # Errors
//
// Misuse (mismatched dimensions or extractors, too few samples, bad options)
// panics with a message "metrics: Func: what is wrong", documented on each
// function as "It panics if ...". Problems of the world (files) are returned
// as errors. A metric of non-finite features is NaN.
package metrics
