package metrics

import (
	"fmt"
	"math"
	"strings"
)

// Result is the value of one metric with what it was computed on. Its String
// names the metric and the features, for instance
//
//	FID (gantry-gray features) = 12.3 (n=1000/1000)
//
// so that numbers from different extractors are never mixed up.
type Result struct {
	// Metric is "FID", "KID", "precision", "recall" or "IW".
	Metric string
	// Extractor names the features the metric was computed on; it is empty
	// for IW, which uses no features.
	Extractor string
	// Value is the metric: for KID the mean over subsets.
	Value float64
	// Std is the standard deviation of KID over its subsets; zero otherwise.
	Std float64
	// N1 and N2 are the sample counts of the first and second set, in the
	// order the function took them (for IW: critic-evaluation images and
	// generated samples).
	N1, N2 int
	// K is the neighbourhood size of precision and recall.
	K int
	// Subsets and SubsetSize describe KID's averaging.
	Subsets, SubsetSize int
	// Steps is the number of critic steps of IW.
	Steps int
}

// String formats r on one line.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Metric)
	if r.Extractor != "" {
		fmt.Fprintf(&b, " (%s features)", r.Extractor)
	}
	fmt.Fprintf(&b, " = %s", formatValue(r.Value))
	if r.Metric == "KID" {
		fmt.Fprintf(&b, " ± %s", formatValue(r.Std))
	}
	fmt.Fprintf(&b, " (n=%d/%d", r.N1, r.N2)
	if r.K > 0 {
		fmt.Fprintf(&b, ", k=%d", r.K)
	}
	if r.Subsets > 0 {
		fmt.Fprintf(&b, ", %d subsets of %d", r.Subsets, r.SubsetSize)
	}
	if r.Steps > 0 {
		fmt.Fprintf(&b, ", %d critic steps", r.Steps)
	}
	b.WriteString(")")
	return b.String()
}

func formatValue(v float64) string {
	if math.Abs(v) >= 1e4 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}
