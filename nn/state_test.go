package nn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gan is a tiny G and D pair named like the library's GANs.
type gan struct {
	G *genNet  `nn:"g"`
	D *critic2 `nn:"d"`
}

type genNet struct {
	FC    *nn.Linear        `nn:"fc"`
	Block *nn.ResidualBlock `nn:"block"`
	Norm  *nn.BatchNorm2d   `nn:"norm"`
}

type critic2 struct {
	In    *nn.Conv2d        `nn:"conv_in"`
	Block *nn.ResidualBlock `nn:"block"`
	FC    *nn.Linear        `nn:"fc"`
}

func newGAN(seed uint64) *gan {
	r := rand.New(rand.NewPCG(seed, 7))
	return &gan{
		G: &genNet{
			FC:    nn.NewLinear(4, 8*2*2, true, r),
			Block: nn.NewResidualBlock(8, 4, 3, nn.ResampleUp, nn.BatchNorms(nn.AlwaysBatchStats), r),
			Norm:  nn.NewBatchNorm2d(4),
		},
		D: &critic2{
			In:    nn.NewConv2d(3, 4, 3, nn.ConvOptions{Padding: nn.PadSame}, r),
			Block: nn.NewResidualBlock(4, 8, 3, nn.ResampleDown, nn.LayerNorms(), r),
			FC:    nn.NewLinear(8*2*2, 1, true, r),
		},
	}
}

func TestStateDictNames(t *testing.T) {
	sd := nn.StateDict(newGAN(1))
	want := []string{
		"d.block.conv1.weight", "d.block.conv2.bias", "d.block.conv2.weight",
		"d.block.norm1.bias", "d.block.norm1.weight", "d.block.norm2.bias", "d.block.norm2.weight",
		"d.block.shortcut.bias", "d.block.shortcut.weight",
		"d.conv_in.bias", "d.conv_in.weight", "d.fc.bias", "d.fc.weight",
		"g.block.conv1.weight", "g.block.conv2.bias", "g.block.conv2.weight",
		"g.block.norm1.bias", "g.block.norm1.num_batches_tracked", "g.block.norm1.running_mean",
		"g.block.norm1.running_var", "g.block.norm1.weight",
		"g.block.norm2.bias", "g.block.norm2.num_batches_tracked", "g.block.norm2.running_mean",
		"g.block.norm2.running_var", "g.block.norm2.weight",
		"g.block.shortcut.bias", "g.block.shortcut.weight",
		"g.fc.bias", "g.fc.weight",
		"g.norm.bias", "g.norm.num_batches_tracked", "g.norm.running_mean", "g.norm.running_var", "g.norm.weight",
	}
	assert.Equal(t, want, sd.Keys(), "StateDict keys")
	var buffers []string
	for name := range nn.Buffers(newGAN(1)) {
		buffers = append(buffers, name)
	}
	assert.Len(t, buffers, 9, "Buffers: 3 BatchNorms × 3")
}

func equalStates(t *testing.T, got, want nn.State) {
	t.Helper()
	require.Equal(t, want.Keys(), got.Keys(), "keys")
	for k, w := range want {
		assert.True(t, tensor.Equal(got[k], w), "%s = %v; want %v", k, got[k], w)
	}
}

func TestLoadStateDictStrict(t *testing.T) {
	src, dst := newGAN(1), newGAN(2)
	require.NoError(t, nn.LoadStateDict(dst, nn.StateDict(src).Clone(), nn.LoadOptions{}))
	equalStates(t, nn.StateDict(dst), nn.StateDict(src))
}

// TestLoadStateDictAliased: a state whose tensors are the module's own under
// other names (swapped, rotated, or a reshaped view) loads as if it were a
// copy: no value is overwritten before it is read.
func TestLoadStateDictAliased(t *testing.T) {
	a, b, c := "d.block.conv2.bias", "d.block.shortcut.bias", "g.block.norm1.running_mean" // all [8]
	cases := []struct {
		name  string
		remap func(live nn.State) nn.State // the state to load, from m's own tensors
		want  func(old nn.State) nn.State  // what m must hold afterwards, from a snapshot
	}{
		{"swap", func(s nn.State) nn.State { s[a], s[b] = s[b], s[a]; return s },
			func(s nn.State) nn.State { s[a], s[b] = s[b], s[a]; return s }},
		{"rotate", func(s nn.State) nn.State { s[a], s[b], s[c] = s[b], s[c], s[a]; return s },
			func(s nn.State) nn.State { s[a], s[b], s[c] = s[b], s[c], s[a]; return s }},
		{"view", func(s nn.State) nn.State { s[a] = s[b].Reshape(2, 4).Reshape(-1); s[b] = s[c]; return s },
			func(s nn.State) nn.State { s[a], s[b] = s[b], s[c]; return s }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newGAN(1)
			live := nn.StateDict(m)
			for i, k := range []string{a, b, c} {
				require.Equal(t, []int{8}, live[k].Shape(), "%s: the test needs shape [8]", k)
				live[k].Fill(float32(i + 1))
			}
			want := tc.want(live.Clone())
			require.NoError(t, nn.LoadStateDict(m, tc.remap(nn.StateDict(m)), nn.LoadOptions{}))
			equalStates(t, nn.StateDict(m), want)
		})
	}
}

func TestLoadStateDictReportsEverything(t *testing.T) {
	dst := newGAN(2)
	before := nn.StateDict(dst).Clone()
	sd := nn.StateDict(newGAN(1)).Clone()
	delete(sd, "g.fc.bias")
	delete(sd, "d.block.norm1.weight")
	sd["d.extra"] = tensor.New(1)
	sd["g.block.extra.weight"] = tensor.New(1)
	sd["d.fc.weight"] = tensor.New(2, 32)
	sd["g.norm.running_mean"] = nil
	err := nn.LoadStateDict(dst, sd, nn.LoadOptions{})
	var le *nn.LoadError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, []string{"d.block.norm1.weight", "g.fc.bias"}, le.Missing, "Missing")
	assert.Equal(t, []string{"d.extra", "g.block.extra.weight"}, le.Unexpected, "Unexpected")
	if assert.Len(t, le.Mismatched, 2, "Mismatched") {
		assert.Equal(t, "d.fc.weight", le.Mismatched[0].Key)
		assert.Equal(t, []int{2, 32}, le.Mismatched[0].Got)
		assert.Equal(t, []int{1, 32}, le.Mismatched[0].Want)
		assert.Equal(t, "g.norm.running_mean", le.Mismatched[1].Key)
		assert.Nil(t, le.Mismatched[1].Got)
	}
	for _, s := range []string{"2 missing", "2 unexpected", "2 shape mismatches", "d.fc.weight: state [2 32], module [1 32]"} {
		assert.ErrorContains(t, err, s)
	}
	equalStates(t, nn.StateDict(dst), before) // a failed load changes nothing
}

func TestLoadStateDictPrefix(t *testing.T) {
	src := nn.StateDict(newGAN(1)).Clone()
	for _, part := range []string{"d.", "g."} {
		other := map[string]string{"d.": "g.", "g.": "d."}[part]
		dst := newGAN(2)
		before := nn.StateDict(dst).Clone()
		// A full checkpoint into one half of a full model.
		require.NoError(t, nn.LoadStateDict(dst, src, nn.LoadOptions{Prefix: part}), "prefix %q", part)
		got := nn.StateDict(dst)
		equalStates(t, got.WithPrefix(part), src.WithPrefix(part))
		equalStates(t, got.WithPrefix(other), before.WithPrefix(other))
	}
	// One half of a checkpoint into a standalone network.
	d := newGAN(3).D
	require.NoError(t, nn.LoadStateDict(d, src.WithPrefix("d."), nn.LoadOptions{}))
	equalStates(t, nn.StateDict(d), src.WithPrefix("d."))
	// A standalone network's state into the full model.
	m := newGAN(4)
	require.NoError(t, nn.LoadStateDict(m, nn.StateDict(d).AddPrefix("d."), nn.LoadOptions{Prefix: "d."}))
	// Without the prefix the strict load reports the whole generator missing.
	err := nn.LoadStateDict(newGAN(5), src.WithPrefix("d.").AddPrefix("d."), nn.LoadOptions{})
	var le *nn.LoadError
	if assert.ErrorAs(t, err, &le, "strict load of D only") {
		assert.Len(t, le.Missing, 22, "strict load of D only: the generator missing")
		assert.Empty(t, le.Unexpected, "strict load of D only")
	}
	assert.NoError(t, nn.LoadStateDict(newGAN(5), src.WithPrefix("d.").AddPrefix("d."), nn.LoadOptions{AllowMissing: true}), "AllowMissing")
	assert.Error(t, nn.LoadStateDict(newGAN(5).D, src, nn.LoadOptions{AllowUnexpected: true}), "AllowUnexpected with wrong names must still report the missing ones")
}

func TestSaveLoadRoundTrip(t *testing.T) {
	sd := nn.StateDict(newGAN(1))
	sd["scalar"] = tensor.Scalar(3.5)
	sd["empty"] = tensor.New(0, 3)
	meta := map[string]string{"iteration": "1200"}
	require.NoError(t, nn.SetConfig(meta, map[string]int{"dim": 16}))
	var buf bytes.Buffer
	require.NoError(t, nn.Save(&buf, sd, meta))
	assert.NotContains(t, meta, nn.MetaVersion, "Save modified the caller's metadata")
	hlen := binary.LittleEndian.Uint64(buf.Bytes())
	assert.Zero(t, hlen%8, "header length %d is not a multiple of 8", hlen)
	// Through a reader with a known length and through a bare stream.
	for _, r := range []interface{ Read([]byte) (int, error) }{bytes.NewReader(buf.Bytes()), onlyReader{bytes.NewReader(buf.Bytes())}} {
		got, gotMeta, err := nn.Load(r)
		require.NoError(t, err)
		equalStates(t, got, sd)
		assert.Equal(t, "1200", gotMeta["iteration"], "metadata")
		assert.Equal(t, nn.FormatVersion, gotMeta[nn.MetaVersion], "metadata")
		var cfg map[string]int
		if assert.NoError(t, nn.Config(gotMeta, &cfg), "Config") {
			assert.Equal(t, 16, cfg["dim"], "Config")
		}
	}
}

type onlyReader struct{ r *bytes.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestSaveFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	sd := nn.StateDict(newGAN(1))
	require.NoError(t, nn.SaveFile(path, sd, nil))
	old, _ := os.ReadFile(path)
	bad := nn.State{"ok": tensor.Ones(2), "broken": nil}
	err := nn.SaveFile(path, bad, nil)
	assert.ErrorContains(t, err, path, "SaveFile of a nil tensor names the file")
	assert.ErrorContains(t, err, `"broken"`, "SaveFile of a nil tensor names the key")
	now, _ := os.ReadFile(path)
	assert.Equal(t, old, now, "a failed SaveFile changed the existing file")
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 1, "temporary files left behind")
	got, _, err := nn.LoadFile(path)
	require.NoError(t, err)
	equalStates(t, got, sd)
	_, _, err = nn.LoadFile(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorContains(t, err, "missing.safetensors", "LoadFile of a missing file")
}

// craft builds a safetensors stream with the given header and data.
func craft(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestLoadRejectsHostileInput(t *testing.T) {
	f32 := make([]byte, 16)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<62), "exceeds"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 1000), "exceeds"},
		{"not json", craft("[1,2]   ", nil), "not a JSON object"},
		{"bad dtype", craft(`{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}`, f32[:1]), "unsupported dtype"},
		{"shape vs bytes", craft(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, f32), "needs 12 bytes"},
		{"negative dim", craft(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32[:4]), "negative"},
		{"gap", craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32[:8]), "gap"},
		{"overlap", craft(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32[:12]), "overlap"},
		{"duplicate", craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32[:8]), "twice"},
		{"claims terabytes", craft(`{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}`, f32), "too large"},
		{"claims gigabytes", craft(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, f32), "holds 16"},
		{"trailing data", craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32[:8]), "holds 8"},
		{"bad metadata", craft(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"future version", craft(`{"__metadata__":{"gantry.version":"9"}}`, nil), "version"},
		{"junk after object", craft(`{} x`, nil), "after the JSON object"},
	}
	for _, c := range cases {
		_, _, err := nn.Load(bytes.NewReader(c.in))
		assert.ErrorIs(t, err, nn.ErrFormat, c.name)
		assert.ErrorContains(t, err, c.want, c.name)
	}
}

func TestLoadStreamDoesNotTrustHeader(t *testing.T) {
	// A stream whose header claims 4 GB but that holds 16 bytes: the load
	// must fail without allocating anywhere near the claim.
	in := craft(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, make([]byte, 16))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := nn.Load(onlyReader{bytes.NewReader(in)})
	runtime.ReadMemStats(&after)
	assert.ErrorContains(t, err, "truncated")
	assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes Load allocated for a 100-byte stream")
}

func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	nn.Save(&buf, nn.State{"w": tensor.FromSlice([]float32{1, -2, 3, 4, 5, 6}, 2, 3), "b": tensor.Scalar(0.5)}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())-3])
	f.Add(craft(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(craft(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []interface{ Read([]byte) (int, error) }{bytes.NewReader(b), onlyReader{bytes.NewReader(b)}} {
			sd, meta, err := nn.Load(r)
			if err != nil {
				if !errors.Is(err, nn.ErrFormat) {
					t.Fatalf("error %v does not wrap ErrFormat", err)
				}
				continue
			}
			var out bytes.Buffer
			if err := nn.Save(&out, sd, meta); err != nil {
				t.Fatalf("re-save: %v", err)
			}
			sd2, _, err := nn.Load(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatalf("reload: %v", err)
			}
			for k, v := range sd {
				if !slices.Equal(v.Shape(), sd2[k].Shape()) {
					t.Fatalf("%s: shape %v after round trip, want %v", k, sd2[k].Shape(), v.Shape())
				}
			}
		}
	})
}

func TestLoadConvertsDtypes(t *testing.T) {
	le := binary.LittleEndian
	var data []byte
	data = le.AppendUint16(data, 0x3c00) // F16 1
	data = le.AppendUint16(data, 0xc100) // F16 -2.5
	data = le.AppendUint16(data, 0x0001) // F16 smallest subnormal 2^-24
	data = le.AppendUint16(data, 0x3fc0) // BF16 1.5
	data = le.AppendUint64(data, uint64(0x4009_21fb_5444_2d18))
	minus7 := int64(-7)
	data = le.AppendUint64(data, uint64(minus7))
	data = le.AppendUint32(data, uint32(42))
	hdr := `{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},` +
		`"b":{"dtype":"BF16","shape":[],"data_offsets":[6,8]},` +
		`"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},` +
		`"l":{"dtype":"I64","shape":[1,1],"data_offsets":[16,24]},` +
		`"i":{"dtype":"I32","shape":[1],"data_offsets":[24,28]}}`
	sd, _, err := nn.Load(bytes.NewReader(craft(hdr, data)))
	require.NoError(t, err)
	want := map[string][]float32{"h": {1, -2.5, 1.0 / (1 << 24)}, "b": {1.5}, "d": {3.1415927}, "l": {-7}, "i": {42}}
	for k, w := range want {
		assert.Equal(t, w, sd[k].Data(), k)
	}
	assert.Equal(t, []int{1, 1}, sd["l"].Shape(), "shape of l")
	assert.Zero(t, sd["b"].Dims(), "dims of b")
}

func TestLoadFileTruncated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cut.safetensors")
	var buf bytes.Buffer
	require.NoError(t, nn.Save(&buf, nn.StateDict(newGAN(1)), nil))
	require.NoError(t, os.WriteFile(path, buf.Bytes()[:buf.Len()-10], 0o644))
	_, _, err := nn.LoadFile(path)
	assert.ErrorIs(t, err, nn.ErrFormat, "LoadFile of a truncated file")
	assert.ErrorContains(t, err, path, "LoadFile of a truncated file")
	assert.ErrorContains(t, nn.SaveFile(filepath.Join(dir, "no", "such", "dir.safetensors"), nn.State{}, nil), "dir.safetensors", "SaveFile into a missing directory")
}
