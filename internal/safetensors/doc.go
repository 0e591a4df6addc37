// Package safetensors is gantry's one codec for the safetensors file format:
// nn's state dicts and checkpoints, optim's state and metrics' reference
// statistics are all written and read here.
//
// # Format
//
// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// (padded with spaces to a multiple of 8), then the data. The header maps
// each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
// (byte offsets into the data, which the tensors tile exactly) and may hold
// a "__metadata__" object of string values. Values are little-endian.
//
// # Reading hostile input
//
// Read trusts nothing in the header. The header length is capped at
// MaxHeaderBytes and read as it arrives; the header must be valid UTF-8 and
// one JSON object with no key twice; a shape has at most MaxRank dimensions,
// none negative, and at most MaxElements elements counting every non-zero
// dimension (so [0, 2^62, 4] is refused, though it holds nothing); every
// shape must match its byte range; the ranges must tile the data with no
// gap or overlap; when the reader can tell its remaining length (*os.File,
// *bytes.Reader, *strings.Reader, *bytes.Buffer) the data must be exactly as
// long as the header says before anything is allocated, and otherwise a
// tensor grows only as its bytes arrive and a byte past the end is an
// error. Every error for bad content wraps ErrFormat and names the key.
//
// # Writing
//
// Write refuses to write what Read would refuse, rather than writing it
// differently: a name that is empty, reserved, repeated or not valid UTF-8
// (encoding/json would silently turn its bytes into U+FFFD, renaming the
// tensor), metadata that is not valid UTF-8, a shape whose rank, sign or
// size Read rejects, or values that do not fill the shape. The error names
// the key.
//
// # Element types
//
// Values are read into and written from float32 or float64 slices (the
// type parameter T). Write stores T's own dtype (F32 or F64). Read converts
// F32, F64, F16, BF16, I32 and I64 to T, and reports each tensor's stored
// dtype, so a caller that needs full precision can insist on F64.
//
// # Why no memory mapping
//
// golang.org/x/exp/mmap would let a reader see a file's bytes without
// copying them from the page cache into a 32 KB chunk first. The bytes
// cannot be used in place (a tensor owns a mutable, aligned []float32, and
// F16 or F64 data must be converted anyway), so the tensors must still be
// allocated and filled: mapping would save only that one copy through a
// cache-resident chunk (about 10 ms for the 95 MB Inception weights at
// memory bandwidth), less than allocating and faulting in the tensors
// themselves, while streaming keeps the extra memory at one 32 KB chunk and
// works on any io.Reader. Read therefore streams.
package safetensors
