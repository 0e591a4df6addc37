package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning-rate multiplier for a step: the number of
// optimizer steps already taken, from 0. A Scheduler multiplies each
// group's base learning rate by it. Schedules compose: Warmup runs one
// after a ramp, and Mul multiplies several.
type Schedule func(step int) float64

// Constant returns the schedule that keeps the base rate: 1 at every step.
func Constant() Schedule { return func(int) float64 { return 1 } }

// Linear returns the schedule decaying linearly from 1 at step 0 to 0 at
// step total, and 0 after it.
//
// It panics if total < 1.
func Linear(total int) Schedule {
	if total < 1 {
		panic(fmt.Sprintf("optim: Linear: total %d steps < 1", total))
	}
	return func(step int) float64 {
		if step >= total {
			return 0
		}
		return 1 - float64(max(step, 0))/float64(total)
	}
}

// Cosine returns the schedule decaying from 1 at step 0 to 0 at step total
// along half a cosine, (1 + cos(π·step/total))/2, and 0 after it.
//
// It panics if total < 1.
func Cosine(total int) Schedule {
	if total < 1 {
		panic(fmt.Sprintf("optim: Cosine: total %d steps < 1", total))
	}
	return func(step int) float64 {
		if step >= total {
			return 0
		}
		return 0.5 * (1 + math.Cos(math.Pi*float64(max(step, 0))/float64(total)))
	}
}

// Warmup returns the schedule that ramps linearly over the first steps
// steps, (step+1)/steps, so the first update already moves, and then
// follows after with its steps counted from the end of the ramp:
// Warmup(100, Cosine(900)) warms up for 100 steps and decays over the next
// 900. A nil after means Constant.
//
// It panics if steps < 0.
func Warmup(steps int, after Schedule) Schedule {
	if steps < 0 {
		panic(fmt.Sprintf("optim: Warmup: %d steps < 0", steps))
	}
	if after == nil {
		after = Constant()
	}
	return func(step int) float64 {
		if step < steps {
			return float64(max(step, 0)+1) / float64(steps)
		}
		return after(step - steps)
	}
}

// Mul returns the schedule whose multiplier is the product of those of ss.
func Mul(ss ...Schedule) Schedule {
	return func(step int) float64 {
		f := 1.0
		for _, s := range ss {
			f *= s(step)
		}
		return f
	}
}

// Scheduler sets an optimizer's learning rates from a Schedule: at step n,
// group i's rate is base[i]·schedule(n), where base[i] is the group's rate
// when it was first seen by the Scheduler.
//
// Call Step once after each optimizer Step, as with PyTorch's LambdaLR. The
// rate is a function of the step count alone, so a resumed run only needs
// SetStep with the number of steps already taken.
type Scheduler struct {
	opt   Optimizer
	sched Schedule
	base  []float64
	step  int
}

// NewScheduler returns a Scheduler driving opt by s and sets the rates for
// step 0. Groups added to opt later take their rate at that time as their
// base rate, at the next Step or SetStep.
//
// It panics if opt or s is nil.
func NewScheduler(opt Optimizer, s Schedule) *Scheduler {
	if opt == nil || s == nil {
		panic("optim: NewScheduler: nil optimizer or schedule")
	}
	sc := &Scheduler{opt: opt, sched: s}
	sc.apply()
	return sc
}

// Step advances the schedule by one step and sets the new rates.
func (s *Scheduler) Step() {
	s.step++
	s.apply()
}

// SetStep sets the number of steps taken to n (when resuming) and sets the
// rates for it.
//
// It panics if n < 0.
func (s *Scheduler) SetStep(n int) {
	if n < 0 {
		panic(fmt.Sprintf("optim: Scheduler.SetStep: step %d < 0", n))
	}
	s.step = n
	s.apply()
}

// StepCount returns the number of steps taken.
func (s *Scheduler) StepCount() int { return s.step }

// BaseLR returns the base rate of group i.
//
// It panics if i is out of range.
func (s *Scheduler) BaseLR(i int) float64 {
	s.grow()
	if i < 0 || i >= len(s.base) {
		panic(fmt.Sprintf("optim: Scheduler.BaseLR: group %d out of range [0, %d)", i, len(s.base)))
	}
	return s.base[i]
}

// grow records the base rate of groups added since the last call.
func (s *Scheduler) grow() {
	for i := len(s.base); i < s.opt.NumGroups(); i++ {
		s.base = append(s.base, s.opt.LR(i))
	}
}

// apply sets each group's rate for the current step.
//
// It panics if the schedule returns a negative or non-finite multiplier.
func (s *Scheduler) apply() {
	s.grow()
	f := s.sched(s.step)
	if !(f >= 0) || math.IsInf(f, 0) {
		panic(fmt.Sprintf("optim: Scheduler: schedule gave multiplier %v at step %d", f, s.step))
	}
	for i, b := range s.base {
		s.opt.SetLR(i, b*f)
	}
}
