// Package golden reads reference values ("golden files") produced by the
// PyTorch scripts under scripts/golden, so that tests of package tensor and
// package autograd can compare against an independent implementation.
//
// # File format
//
// A golden file is a JSON object:
//
//	{
//	  "format": "gantry-golden-1",
//	  "tensors": {
//	    "conv0.weight": {"shape": [8, 3, 3, 3], "data": [0.125, -0.25, ...]},
//	    "gp":           {"shape": [], "data": [3.5]}
//	  },
//	  "meta": {"torch_version": "1.13.0", ...}
//	}
//
// Data is stored flat in row-major (C) order, the layout of a contiguous
// PyTorch tensor, so element [i, j, k] of a tensor of shape [A, B, C] is
// Data[(i*B+j)*C+k]. A scalar has shape [] and exactly one element. Every
// number is a float32 written with enough digits to round-trip exactly;
// encoding/json parses it straight to the same float32.
//
// Meta is free-form: the generating scripts use it to record the exact
// PyTorch call behind each value (strides, paddings, reductions and so on).
//
// # API
//
// Load returns just the tensors, LoadMeta just the meta object, and Read
// both at once (one parse). Errors name the file and, where one is at fault,
// the tensor key.
package golden
