// Package inception is the InceptionV3 feature extractor of FID, as
// pytorch-fid computes it: the 2048-d pool3 features of the TensorFlow FID
// network (inception-2015-12-05) in pytorch-fid's PyTorch port.
//
// # The network
//
// Net is torchvision's Inception3 up to its global average pool, with the
// blocks pytorch-fid swaps in for FID: FIDInceptionA (Mixed_5b-5d, BlockA),
// FIDInceptionC (Mixed_6b-6e, BlockC) and FIDInceptionE_1 (Mixed_7b, BlockE)
// average their pool branch without counting the zero padding
// (count_include_pad=False), and FIDInceptionE_2 (Mixed_7c, BlockE with
// MaxPool) uses a 3×3 max pool there instead. Mixed_6a (BlockB) and Mixed_7a
// (BlockD) are torchvision's. Every convolution is a BasicConv: convolution
// without bias, batch norm with eps 1e-3 in evaluation mode, ReLU.
//
// Features follows pytorch-fid's InceptionV3 with its defaults
// (output block 3, resize_input, normalize_input): each image is resized to
// 299×299 bilinearly with align_corners=False and scaled to [-1, 1] before
// the network, and the last 8×8 maps are averaged to one vector. pytorch-fid
// takes images in [0, 1] and maps them to 2u-1; gantry's images are already
// in [-1, 1], so they enter as they are. Gray images (one channel) are
// repeated to three.
//
// # Weights
//
// The weights cannot be shipped or downloaded by gantry. Download
// pytorch-fid's published weights, pt_inception-2015-12-05-6726825d.pth,
// and convert them once:
//
//	/usr/bin/python3 scripts/inception/convert_fid_weights.py \
//		pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors
//
// then net, err := inception.LoadFile("inception-fid.safetensors"). The
// tensors keep PyTorch's state_dict names ("Conv2d_1a_3x3.conv.weight",
// "Mixed_5b.branch1x1.bn.running_mean"), so any Inception3 state dict of
// this architecture loads (see LoadState). The name results carry, Name,
// comes from the file's metadata: the script writes FIDName
// ("inception-v3-pytorch-fid") only when the checksum matches pytorch-fid's
// file, so numbers computed on other weights are never labelled as
// Inception FID.
//
// # Verification
//
// No real weights are available to the tests, so they check the
// architecture on random ones against PyTorch (scripts/inception/gen_golden.py,
// which builds the FID network from torchvision 0.14's blocks as pytorch-fid
// does). The committed golden holds the stem and each block type with
// channel counts divided by 8 to 32, and the whole network with channel
// counts divided by 16, on images resized to 299×299. The full-size network
// is compared when GANTRY_INCEPTION_TEST names a directory written by
// `gen_golden.py --full DIR` (95 MB of random weights): its features match
// PyTorch's float64 reference within 5e-7 of their largest magnitude.
//
// # Memory and concurrency
//
// Features runs no autograd graph: it calls the tensor package's kernels
// directly. It processes BatchSize images at a time (DefaultBatchSize, 16),
// allocating its activations afresh for each batch, and never modifies its
// input. A loaded Net is only read, so Features may run in several goroutines
// at once, as package metrics does; changing its weights while it runs is a
// data race.
package inception
