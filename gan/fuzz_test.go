package gan_test

import (
	"bytes"
	"testing"

	"github.com/gantry-go/gantry/gan"
)

// FuzzRead feeds arbitrary bytes to the model reader: it must return a model
// or an error, never panic or hang, whatever the file claims.
func FuzzRead(f *testing.F) {
	m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 1, ZDim: 2}, rng(1))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gan.Write(&buf, m); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:9])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := gan.Read(bytes.NewReader(b))
		if err == nil && (m == nil || m.G == nil || m.D == nil) {
			t.Fatalf("Read returned no error and an incomplete model")
		}
	})
}
