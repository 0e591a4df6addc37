// Package transfer adapts a GAN pretrained on a large source domain to a new
// domain from few images: the method of Wang et al., "Transferring GANs:
// generating images from limited data" (ECCV 2018), and the follow-up
// policies that shape it.
//
//	src, _ := gan.Load("mnist-32.safetensors")                      // or sources.MNIST()
//	target, _ := shipped.FashionMNIST(data.Resolution(32))          // any data.Dataset
//	res, err := transfer.FineTune(ctx, src, target, transfer.Options{
//		Iterations: 2000,                                           // lr 1e-5, batch 16: the paper's
//		FreezeD:    2,                                              // optional: FreezeD
//		Eval:       &gan.Eval{Every: 250, Real: heldOut},           // FID and KID on gantry-gray
//		Dir:        "runs/fashion",                                 // run folder, resumable
//	})
//
// FineTune takes the source as a *gan.Model (gan.Load reads a file, package
// sources the shipped ones) and a context: cancelling it writes a checkpoint
// and returns, and Options.Resume continues exactly. There is no training
// loop here: FineTune builds the target model and drives gan's Trainer
// through its options and hooks.
//
// # What is copied
//
// Options.Init picks the cell of the paper's Table 1: both networks from the
// source (the default and the paper's best), only the critic, only the
// generator (the paper's worst: a random critic wrecks the pretrained
// generator early), or neither (training from scratch, the baseline).
// Weights are copied; the optimizers start with fresh state, as in the
// paper's code. The generator copied is the source's sampler: its moving
// average when it has one. A source of another resolution or channel count
// than the target's images is an error naming both.
//
// # Freezing and learning rates
//
//   - FreezeD keeps the critic's input layer and its first k blocks fixed
//     (Mo et al. 2020).
//   - FreezeG keeps chosen generator blocks fixed.
//   - NormOnly trains only the generator's normalisation scales and offsets,
//     in the spirit of Batch Statistics Adaptation (Noguchi and Harada 2019),
//     while the critic trains fully.
//   - Unfreeze lifts those policies for parameters of a name prefix from an
//     iteration on: gradual unfreezing.
//   - LRMult multiplies the learning rate of parameters by name prefix.
//
// Options.Frozen answers, for a parameter's file name and an iteration,
// whether it is fixed; the trainer applies it before every iteration.
//
// # Regularisers
//
// L2SP adds α/2·Σ‖θ − θ_source‖² over every parameter copied from the source,
// in both networks (Li et al. 2018). EWC adds λ·Σ F_i(θ_i − θ_source,i)² to
// the generator (Li et al. 2020), where F is the diagonal Fisher
// information of the source generator with the source critic's output as
// likelihood, computed once before fine-tuning (Fisher). DiffAugment and ADA
// (package data/augment) augment every image the critic sees.
//
// # Conditional transfer
//
// Options.Classes turns an unconditional source into an AC-GAN target (the
// paper's section 5): with conditional batch norm, every class's scale and
// offset start as copies of the source's batch norm; with the concatenation
// variant, the weights from the one-hot label into the first layer start
// random and the rest is copied; the critic gets a new, random class head.
// The target dataset's labels drive the AC-GAN losses.
//
// # Choosing a source
//
// RankSources scores candidate sources against the target images before any
// fine-tuning (the paper's section 4.5): FID and KID between each source's
// samples and the target, and recall, best first, each number with its
// protocol. The paper calls FID a rough indicator; per target it tends to
// agree with which source fine-tunes best.
package transfer
