// Package nn holds gantry's neural-network modules: parameters and buffers,
// the layers of the paper's ResNet GAN, initialisers, state dicts and
// safetensors checkpoints.
//
// # Modules
//
// A module is a plain struct. Its parameters (*Param: trained) and buffers
// (*Buffer: saved but not trained, such as BatchNorm's running statistics)
// are found by walking its exported fields, sub-modules (structs, pointers,
// interfaces holding them) and slices or arrays of sub-modules. Each member
// is named with PyTorch's dotted convention ("blocks.0.conv1.weight"): by
// field name, by an `nn:"name"` tag, by index in a slice; `nn:"-"` skips a
// field and `nn:""` (or embedding) merges a field into its parent's
// namespace, as Sequential does to name its layers "0", "1", ... A module can
// instead list its own members by implementing Lister. Parameters, Buffers and
// Modules iterate with iter.Seq2 in field order, over one walk that treats
// embedded structs alike everywhere (their members join the parent's names,
// even when the embedded type is unexported, and they are no module of their
// own). An unexported field that holds parameters or buffers cannot be
// reached, so the walk panics naming it rather than silently training
// without it (PyTorch's plain-list trap); tag it `nn:"-"` when a module keeps
// a reference to another it does not own.
//
// Layers take and return *autograd.Var. Those with one input implement
// Module (Forward); normalisations implement Norm (Normalize(x, labels)), so
// ResidualBlock takes a NormFunc and serves the generator (BatchNorms), the
// critic (LayerNorms) and the conditional generator (CondBatchNorms) alike.
// Modules that behave differently in training and evaluation implement TrainingMode;
// SetTraining switches a whole model. Modules start in training mode.
//
// The layers follow PyTorch's layouts and names (Linear's weight is
// [out, in]; Conv2d's is [out, in, k, k]; BatchNorm2d has weight, bias,
// running_mean, running_var and num_batches_tracked), so the state_dict of a
// PyTorch model written with the same names loads into gantry as is and the
// other way round. scripts/golden/gen_nn.py holds such PyTorch twins; the
// golden tests compare every layer's output, input and parameter gradients,
// the residual blocks' second-order gradients, and BatchNorm's running
// statistics with them.
//
// # Initialisation
//
// Constructors take a seeded *rand.Rand, so a seed fixes a model. Linear,
// Conv2d and Embedding start as PyTorch's do (TorchDefault, N(0,1));
// NewResidualBlock applies the rules of the Transferring GANs code
// (PaperHeUniform for its 3×3 convolutions, GlorotUniform for its 1×1
// shortcut, zero biases; their docs give the exact bounds). Architectures re-initialise other layers with the functions in
// init.go: PaperHeUniform, GlorotUniform, KaimingNormal, KaimingUniform,
// DCGANNormal, Normal, Uniform. A nil *rand.Rand leaves weights at zero, for
// a model that is about to be loaded from a file.
//
// # State dicts
//
// StateDict returns a module's parameters and buffers by name as a State.
// LoadStateDict copies a State into a module strictly, or limited to a name
// prefix (LoadOptions.Prefix) and optionally tolerating missing or unexpected
// entries; it reports every missing key, unexpected key and shape mismatch
// together in one *LoadError, and loads nothing unless it can load everything.
// State.WithPrefix, WithoutPrefix and AddPrefix move between a whole GAN's
// names ("g.…", "d.…") and one network's, which is how a transfer takes only
// the generator or only the critic of a source model.
//
// # Files
//
// Checkpoints are safetensors files: an 8-byte little-endian header length,
// a JSON header giving each tensor's dtype, shape and byte range plus a
// "__metadata__" map of strings, then the raw little-endian data. Save and
// Load work on an io.Writer and io.Reader in the manner of png.Encode and
// png.Decode; SaveFile and LoadFile add atomic writes (temporary file in the
// same directory, fsync, rename: a failed write leaves the previous file
// intact) and errors naming the path. Save writes float32 ("F32"); Load also
// converts F64, F16, BF16, I64 and I32 (PyTorch stores num_batches_tracked as
// I64). The metadata carries MetaVersion and, through SetConfig and Config,
// the architecture as JSON under MetaConfig, so a file can rebuild its model.
//
// The codec (internal/safetensors, shared with optim's state files and
// metrics' statistics) is gantry's own rather than
// github.com/nlpodyssey/safetensors. That library writes the format well,
// but its reader allocates every tensor at the size the header claims before
// reading it (a stream whose header claims terabytes makes it try), decodes
// float32 values one io.ReadFull at a time, and its in-memory Deserialize
// needs the whole file as one []byte. Load here reads hostile input safely:
// the header is capped at 16 MB and read as it arrives, a shape has at most 8
// dimensions and 2^31-1 elements (zero dimensions do not hide an overflowing
// product), every shape must match its byte range, the ranges must tile the
// data with no gap or overlap, the total is checked against the real size
// when the reader can tell it (files, bytes.Reader), and otherwise tensors
// grow only as data actually arrives. Errors for bad content wrap ErrFormat
// and name the key. Save refuses, with an error naming the key, anything
// Load would refuse, including names that are not valid UTF-8 (which JSON
// would otherwise silently rewrite). FuzzLoad exercises both.
//
// # Memory and ownership
//
// A Param's Value and a Buffer's Value belong to the module. StateDict returns
// those same tensors, not copies (State.Clone snapshots them); LoadStateDict
// copies values into the module's existing tensors, so an optimizer that
// holds them sees the loaded values. Load returns fresh tensors owned by the
// caller. Forward passes allocate their results; nothing in a layer keeps a
// reference to its inputs beyond the autograd graph the caller holds.
//
// # Invariants and errors
//
// Every layer is built from autograd operations, so gradients of gradients
// (the WGAN-GP penalty) flow through all of them; BatchNorm2d's running
// statistics are updated outside the graph. LayerNorm normalises each
// sample on its own, so the critic's gradient penalty stays per sample.
// Shape mistakes and out-of-range labels are programmer errors and panic
// with "nn: Layer: what, with the shapes"; the methods say when. Problems
// with files and state dicts are returned as errors.
//
// Modules are not safe for concurrent use: a forward pass in training mode
// updates BatchNorm statistics.
package nn
