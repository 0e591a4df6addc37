// Package losses holds the adversarial losses and regularisers that gantry's
// trainers and metrics share: the WGAN-GP gradient penalty, R1, and the
// Wasserstein, hinge and non-saturating losses.
//
// It sits at nn's level (it needs only autograd and tensor), so both the gan
// trainer and metrics' independent Wasserstein critic call the same
// GradientPenalty: there is one implementation of the penalty in gantry.
//
// # Conventions
//
// A critic is any function from images [N, C, H, W] to one score per image
// ([N] or [N, 1]). Losses are returned as scalar *autograd.Var, to be
// minimised: a trainer adds them and calls autograd.Backward. Every function
// records a graph through the critic's parameters; the penalties also record
// the graph of the input gradient (autograd.CreateGraph), so their backward is
// a second-order one.
//
// The gradient penalty follows Gulrajani et al. (2017) as the Transferring
// GANs code computes it: per-sample interpolation x̂ = x + α(x̃ − x) with
// α ~ U[0, 1] drawn once per image, the Euclidean norm of ∇D(x̂) over all of
// (C, H, W) per image with no epsilon inside the square root, and
// λ·mean((‖∇D(x̂)‖ − 1)²). Where an image's gradient is exactly zero, its norm
// is 0 and the penalty's gradient through that image is 0 (PyTorch's
// subgradient), never NaN.
package losses
