package optim_test

// The tolerances of this package's tests, stated once.
const (
	// goldenTol bounds |got − want| / max|want| for every parameter after every
	// step, where max|want| runs over the parameter's trajectory so far. The
	// gradients come from gantry's autograd, whose sums accumulate in float64
	// where PyTorch's accumulate in float32, so they differ in the last bits
	// and the trajectories drift apart by about 1e-7 (see TestGolden's log).
	goldenTol = 1e-6

	// updateTol is goldenTol when the optimizer is fed PyTorch's own
	// gradients. The update loops mirror PyTorch's float32 kernels operation
	// by operation, and on amd64 the trajectories agree bit for bit; the small
	// allowance covers a platform where rounding of fused operations differs.
	updateTol = 1e-7

	// tolSchedule bounds a schedule's multiplier or a learning rate computed
	// in float64 against its closed form: a few roundings.
	tolSchedule = 1e-12
)
