// Package gan holds the GAN of Wang et al., "Transferring GANs: generating
// images from limited data" (ECCV 2018): the ResNet WGAN-GP generator and
// critic of its code, their conditional (AC-GAN) variants, the trainer that
// is gantry's one training loop, checkpoints, and sample grids.
//
// A GAN trained on shipped MNIST, stopped and resumed exactly:
//
//	ds, _ := shipped.MNIST(data.Resolution(32))
//	m, _ := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 16}, rand.New(rand.NewPCG(1, 2)))
//	opts := gan.Options{Iterations: 2000, Dir: "runs/mnist", Resume: true}
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	res, err := gan.Train(ctx, m, ds, opts) // Ctrl-C writes a checkpoint and returns
//	// Run the same program again: it continues from the latest checkpoint in
//	// runs/mnist, bit for bit as if it had never stopped.
//
// # Architecture
//
// Config selects a member of the paper's family; zero fields take the
// paper's values (64×64 RGB, width d = 64, z of 128 dimensions). With
// s = Resolution/16:
//
//	Generator  z [ZDim] → Linear → [8d, s, s]
//	           → up-block 8d→8d → up-block 8d→4d → up-block 4d→2d → up-block 2d→d
//	           → BatchNorm → ReLU → Conv3×3 d→Channels → tanh
//	Critic     image → Conv3×3 Channels→d
//	           → down-block d→2d → down-block 2d→4d → down-block 4d→8d → down-block 8d→8d
//	           → flatten [8d·s·s] → Linear → 1   (and Linear → Classes for AC-GAN)
//
// Every block is the pre-activation residual block of nn.ResidualBlock:
// norm → ReLU → conv → norm → ReLU → conv, plus a shortcut (1×1 conv when
// the size or width changes). Up-blocks upsample by nearest neighbour before
// their first convolution; down-blocks mean-pool after their second. The
// paper's code keeps these four blocks at every resolution and changes the
// start size instead (its N_PIXELS//16): 16×16 images start from 1×1, 32×32
// from 2×2, 64×64 from 4×4 and 128×128 from 8×8. So a 32×32 model has the
// same layers as the paper's 64×64 one; only the linear layers' sizes
// differ.
//
// The generator's batch norms always normalise with the batch's statistics,
// as the paper's TensorFlow code does, also when sampling: a sample depends
// on the others of its batch. Sample and Generate therefore cut n images into
// near-equal batches of at most SampleBatch, and never update the running
// statistics. The critic's norms are per-sample layer norms over (C, H, W)
// with a per-channel scale and offset (batch norm would couple the samples
// of the per-sample gradient penalty). There is no normalisation between the
// last block and the output.
//
// Initialisation is the paper's, applied by the constructors: every weight is
// uniform with the standard deviation of its rule, biases are 0, norm scales
// 1. 3×3 convolutions of the blocks and the generator's output use
// σ = √(4/(fan_in+fan_out)); the critic's input convolution, the 1×1
// shortcuts and the linear layers use Glorot's σ = √(2/(fan_in+fan_out)).
//
// Sizes (the paper's own count, 64×64 RGB, checked by the tests):
//
//	width d   generator   critic
//	64        8.54 M      7.49 M
//	32        2.40 M      1.88 M
//	16        0.73 M      0.47 M
//
// # Conditional models (AC-GAN)
//
// Config.Classes > 0 makes an AC-GAN (the paper's section 5). The generator
// takes a label per sample either through conditional batch norm
// (CondBatchNorm: every norm has scale and offset tables [Classes, C]) or by
// concatenating the one-hot label to z (CondConcat). The critic stays
// unconditional and gets a second head, Classifier, whose cross-entropy on
// real labels is added to the critic's loss (weight Options.ACGANScale) and
// on the generator's sampled labels to the generator's (ACGANScaleG); both
// weights are 1 in the paper.
//
// # Training
//
// Trainer runs the paper's WGAN-GP by default: every iteration makes NCritic
// = 5 critic steps, each on a fresh real batch and fresh samples, with the
// penalty λ·mean((‖∇D(x̂)‖ − 1)²) of nn/losses at x̂ = x + α(G(z) − x), one α
// per image, λ = 10; then one generator step. Both networks use Adam with
// lr 1e-4 and betas (0, 0.9); batches of 64. Hinge and non-saturating + R1
// losses, an EMA of the generator, and DiffAugment or ADA (package
// data/augment) on every image the critic sees are options. Hooks let
// transfer set per-parameter learning rates, add regularisers and unfreeze
// parameters on a schedule without a loop of its own; OnProgress and OnEval
// report to a command line.
//
// A loss or gradient that stops being finite stops training with a
// *NaNError naming the iteration, the step and the first parameter
// affected, before the optimizer applies it; nothing is written then, so the
// last checkpoint stays the last good state.
//
// # Run folders
//
// With Options.Dir set, training writes the folder users of stylegan2-ada
// know:
//
//	options.json                  every option, the config, the data's hash, gantry's version
//	log.txt                       what happened, in words
//	stats.jsonl                   one JSON object per LogEvery iterations: losses, Wasserstein
//	                              estimate, penalty, gradient norms, learning rates, and under
//	                              "timing" seconds per iteration and heap
//	metric-fid.jsonl, …           one line per evaluation, with the metric's protocol
//	reals.png                     training images
//	fakes-000000.png, …           fixed-noise grids at the paper's Fig. 4 iterations (0, 2, 5,
//	                              15, 39, 99, 251, 632, 1591, 4000, …) and at the end
//	checkpoint-000500.safetensors the last KeepCheckpoints checkpoints
//	best.safetensors              the model at its best Eval.Best value
//	.lock                         held by the process training in the folder (LockFile)
//
// A checkpoint holds G, D, the EMA, both optimizers' state, the random
// streams, the data order and the counters, written atomically. With
// Options.Resume, NewTrainer continues the latest readable checkpoint
// strictly (the saved options must equal the given ones but for Iterations)
// and exactly: N iterations straight and N/2, a stop, and N/2 more give the
// same weights bit for bit and the same stats lines but for "timing". A
// cancelled context writes a checkpoint before Run returns. One process at a
// time trains in a folder: NewTrainer returns ErrRunInUse, naming the other
// process, while another holds it.
//
// # Files
//
// Save writes a model as one safetensors file: the tensors of G, D and the
// EMA under "g.", "d." and "g_ema." plus each parameter's dotted name
// ("g.blocks.0.conv1.weight"), the config as JSON under nn.MetaConfig, and a
// SHA-256 of the tensors (Checksum) under MetaChecksum. Load rebuilds the
// model from the file alone and checks the checksum; it also reads trainer
// checkpoints and files written by the PyTorch twin of these networks,
// scripts/torch/paper_gan.py, which uses the same names (docs/PYTORCH.md).
//
// SaveGrid writes samples as one PNG the way torchvision's save_image does
// with value_range (-1, 1) and padding 2.
package gan
