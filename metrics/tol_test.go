package metrics

// The tolerances of this package's tests, stated once, by what they compare.
// The statistical bounds of tests on samples (an FID of 40,000 samples, a
// mean over 300 trials) are the tests' claims and stay with them; the
// external tests (package metrics_test) state theirs in their own file.
const (
	// statsTol is the relative tolerance of float64 results computed twice
	// from the same statistics, or in another order.
	statsTol = 1e-12
	// tolCov bounds, absolutely, a covariance accumulated in batches against
	// a two-pass sum over unit-scale features.
	tolCov = 1e-11
	// tolFrechet bounds, relatively, a Fréchet distance of full-rank
	// covariances against its closed form: a matrix square root in float64.
	tolFrechet = 1e-10
	// tolFIDSelf bounds, absolutely, the FID of a set against itself: the
	// rounding noise of the matrix square root.
	tolFIDSelf = 1e-9
	// tolMMD bounds, relatively, MMD² in float64 against numpy's.
	tolMMD = 1e-9
	// tolSingular bounds, relatively, a Fréchet distance through a singular
	// covariance: the square roots of its round-off eigenvalues (about
	// 1e-16·‖S‖) enter the trace at about 1e-8, differently in every
	// implementation (numpy's eigh, gonum's assembly and noasm builds).
	tolSingular = 1e-7
	// tolScipy bounds, relatively, an FID against scipy's sqrtm, an
	// iterative square root.
	tolScipy = 1e-6
	// tolFloat32 bounds, relatively, results from float32 dot products or
	// features computed in another batching against float64 ones.
	tolFloat32 = 1e-5
)
