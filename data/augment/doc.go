// Package augment provides differentiable image augmentation for training
// GANs on little data: DiffAugment (Zhao et al., NeurIPS 2020) and the
// integer-translation, flip, rotation and colour subset of ADA (Karras et
// al., NeurIPS 2020) with its adaptive probability controller.
//
// The critic must see augmented images only, real and generated alike, in
// both the critic and the generator steps: D(T(x)) and D(T(G(z))). Every
// transformation here is built from autograd operations (IndexSelect for
// pixel moves, Mul and Add with constant tensors for masks and colour), so
// gradients flow through T into the generator, to any order (the WGAN-GP
// penalty differentiates through it).
//
// # Random parameters
//
// Augmenting is split in two: Sample (or SampleADA) draws a batch's random
// parameters from an explicit *rand.Rand, and Apply (ApplyADA) transforms a
// batch with given parameters. Passing the same parameters to the real and
// the fake batch augments both identically; drawing them twice augments them
// independently, as the reference implementations do. The single
// transformations (Brightness, Translate, Cutout, ...) take their parameters
// as arguments, one per sample.
//
// Images are [N, C, H, W] with values in [-1, 1]; the colour operations of
// ADA assume C is 3 (RGB) or 1 (gray).
//
// This package imports autograd; package data itself needs only tensor.
package augment
