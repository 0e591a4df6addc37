// Package nn holds gantry's neural-network modules: layers, parameters,
// buffers, initialisers and state dicts.
//
// A module is a plain struct. Its parameters (*Param, trained) and buffers
// (*Buffer, saved but not trained) are found by walking its exported fields,
// sub-modules and slices of sub-modules, and are named with PyTorch's dotted
// convention ("blocks.0.conv1.weight"), so a PyTorch model with the same
// names exchanges state dicts with gantry as is.
package nn
