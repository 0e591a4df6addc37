package autograd

// The tolerances of this package's comparisons with PyTorch, stated once,
// relative to the largest magnitude of the reference (see closeTo).
const (
	tolPool   = 1e-6 // pooling and resizing: a handful of roundings
	tolGolden = 1e-5 // single ops and convolutions with their gradients
	tolCritic = 1e-4 // a whole critic and its WGAN-GP penalty, second order through it
)
