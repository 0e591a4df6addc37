package main

// Claim is one of the paper's findings, stated as an ordering of cells and
// checked automatically on the study's means.
type Claim struct {
	Text string
	// Check reports whether the claim holds, given each cell's mean under
	// one metric oriented so that lower is better; ok is false when a cell
	// has no finished run.
	Check func(mean func(Spec) (float64, bool)) (holds, ok bool)
}

// order is the claim that best beats every one of others.
func order(text string, best Spec, others ...Spec) Claim {
	return Claim{Text: text, Check: func(mean func(Spec) (float64, bool)) (bool, bool) {
		b, ok := mean(best)
		if !ok {
			return false, false
		}
		holds := true
		for _, o := range others {
			v, ok := mean(o)
			if !ok {
				return false, false
			}
			holds = holds && b < v
		}
		return holds, true
	}}
}

// chain is the claim that the cells are in strictly increasing order.
func chain(text string, specs ...Spec) Claim {
	return Claim{Text: text, Check: func(mean func(Spec) (float64, bool)) (bool, bool) {
		holds := true
		prev := 0.0
		for i, s := range specs {
			v, ok := mean(s)
			if !ok {
				return false, false
			}
			if i > 0 && !(prev < v) {
				holds = false
			}
			prev = v
		}
		return holds, true
	}}
}

// gainGrows is the claim that scratch[i] − pre[i] decreases with i: the
// gain of pretraining is largest for the first (smallest) target.
func gainGrows(text string, pre, scratch []Spec) Claim {
	return Claim{Text: text, Check: func(mean func(Spec) (float64, bool)) (bool, bool) {
		holds := true
		prev := 0.0
		for i := range pre {
			p, ok1 := mean(pre[i])
			s, ok2 := mean(scratch[i])
			if !ok1 || !ok2 {
				return false, false
			}
			g := s - p
			if i > 0 && !(g < prev) {
				holds = false
			}
			prev = g
		}
		return holds, true
	}}
}

// mergeClaims joins each claim without text to the one before it: both must
// hold.
func mergeClaims(cs []Claim) []Claim {
	var out []Claim
	for _, c := range cs {
		if c.Text != "" || len(out) == 0 {
			out = append(out, c)
			continue
		}
		a, b := out[len(out)-1].Check, c.Check
		out[len(out)-1].Check = func(mean func(Spec) (float64, bool)) (bool, bool) {
			h1, ok1 := a(mean)
			h2, ok2 := b(mean)
			return h1 && h2, ok1 && ok2
		}
	}
	return out
}
