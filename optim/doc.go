// Package optim holds the optimizers that train gantry's models: Adam and
// AdamW, SGD (momentum, dampening, Nesterov) and RMSprop (momentum,
// centered), with parameter groups, learning-rate schedules, gradient
// clipping by global norm, and state saved and restored by parameter name.
//
// # Overview
//
// An optimizer is built over named parameters, usually straight from a
// module:
//
//	cfg := optim.DefaultAdam()
//	cfg.LR, cfg.Beta1, cfg.Beta2 = 1e-4, 0, 0.9 // the paper's settings
//	opt := optim.NewAdam(optim.Named(nn.Parameters(g)), cfg)
//	for step := range n {
//		opt.ZeroGrad()
//		autograd.Backward(loss())
//		optim.ClipGradNorm(opt.Params(), 10) // optional
//		opt.Step()
//	}
//
// The parameters given to the constructor form group 0; AddGroup adds more,
// each with its own learning rate and hyper-parameters (for fine-tuning,
// early layers often get a smaller rate). Filter and HasPrefix split a
// model's parameters by name, and Prefixed names the parameters of several
// modules apart ("g.", "d.") when one optimizer trains them all.
//
// # The updates
//
// Each optimizer reproduces the update of PyTorch 1.13 (torch.optim.Adam,
// AdamW, SGD and RMSprop with their default single-tensor implementation),
// including where PyTorch rounds: the loops work in float32 and mirror the
// order and fusion of PyTorch's float32 CPU kernels, so that fed the same
// gradients they reproduce PyTorch's trajectories bit for bit on amd64
// (the golden tests check 20-step trajectories of every variant, generated
// by scripts/golden/gen_optim.py). Hyper-parameter structs take every field
// literally, zero included, because zero is meaningful (Beta1 = 0 is common
// for GANs); start from DefaultAdam, DefaultAdamW, DefaultSGD or
// DefaultRMSprop, which hold PyTorch's defaults.
//
// # Invariants
//
//   - Step updates in place the Value tensor of each parameter that is not
//     frozen and has a non-nil Grad (the tensor autograd.Backward fills).
//     It records no graph: it runs on raw tensors, not through autograd.
//   - Step allocates only the first time a parameter is updated (its state
//     tensors); afterwards Step, ZeroGrad, ClipGradNorm and Scheduler.Step
//     allocate nothing (TestStepAllocs, BenchmarkAdam/step/1M).
//   - ZeroGrad zeroes gradients in place (PyTorch's set_to_none=False),
//     keeping their memory. A parameter absent from a later Backward is
//     then still stepped with a zero gradient, and momentum moves it; to
//     keep it still, freeze it.
//   - A parameter is in at most one group, under one name.
//
// # Freezing
//
// A frozen parameter (nn.Param.Freeze) is skipped, and its state is cleared
// at the first Step that finds it frozen. When it is unfrozen, its next
// update is a first step: zero moments, bias correction from step 1, SGD's
// momentum buffer seeded with the gradient, exactly as for a parameter new
// to the optimizer. (PyTorch instead keeps the old moments of a parameter
// whose gradient is None and resumes them; stale moments from before the
// freeze would not match the network they are applied to, so gantry starts
// clean.) Reset clears the state of chosen parameters by hand.
//
// # State
//
// State returns the optimizer's state keyed by parameter name, never by
// position: per-element tensors named "<buffer>.<parameter>" with
// PyTorch's buffer names (exp_avg, exp_avg_sq, momentum_buffer,
// square_avg, grad_avg), and per-parameter step counts, small enough for a
// checkpoint's JSON metadata. State.Save and ReadState (SaveFile and
// ReadStateFile for files, written atomically) store it as safetensors with
// the same codec as nn's checkpoints: the tensors by name, the rest as JSON
// under the metadata key MetaState. LoadState restores it into an optimizer over
// the same names, in any order, and returns a *StateError listing every
// missing, unexpected and mis-shaped entry when they do not match; on error
// it changes nothing. Learning rates and hyper-parameters are configuration,
// not state: a resumed program builds its optimizer with them again and
// calls Scheduler.SetStep with the number of steps taken. Saving, restoring
// and continuing gives the trajectory of an uninterrupted run bit for bit.
//
// # Schedules
//
// A Schedule maps a step count to a multiplier of each group's base rate:
// Constant, Linear (decay to zero), Cosine, Warmup (a linear ramp before
// another schedule) and Mul (a product). A Scheduler applies one to an
// optimizer; call its Step after each optimizer Step, as with PyTorch's
// LambdaLR.
//
// # Memory
//
// The optimizer owns its state tensors. It holds the parameters it was
// given but not their gradients: those belong to the parameters, and
// ClipGradNorm and ZeroGrad modify them in place. Tensors returned by State
// are copies owned by the caller, and LoadState copies what it is given.
//
// # Errors
//
// Misuse panics with a message "optim: <Optimizer>: ...": invalid
// hyper-parameters (at construction, or at Step if changed through Config
// or SetLR), an empty group, an empty or repeated name, a parameter given
// twice, a gradient shaped unlike its parameter, a group index out of
// range. A state that does not fit is a returned error.
//
// The optimizers are not safe for concurrent use.
package optim
