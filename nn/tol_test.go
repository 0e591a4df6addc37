package nn_test

// The tolerances of this package's tests, stated once.
const (
	// gatol and grtol bound a golden comparison with PyTorch (closeTo,
	// |got - want| <= gatol + grtol·|want|): float32 forward and backward
	// passes, second order included, summed in another order.
	gatol, grtol = 2e-5, 1e-4
	// tolTorchFile bounds one eval forward pass of a model loaded from
	// PyTorch's file against PyTorch's own output.
	tolTorchFile = 1e-5
	// tolGantryFile bounds the same pass against the output gantry wrote
	// with the file: the same code, so only the file's float32 round trip.
	tolGantryFile = 1e-6
	// tolEvalNorm bounds a normalisation in eval mode against its
	// closed-form value.
	tolEvalNorm = 1e-4
	// tolInitStd is how far the standard deviation of an initialised weight
	// (thousands of draws) may be from its target, relative; its mean may be
	// 2·tolInitStd of the target standard deviation from 0.
	tolInitStd = 0.05
)
