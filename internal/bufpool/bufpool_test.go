package bufpool

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func filled(n int, v float32) []float32 {
	b := make([]float32, n)
	for i := range b {
		b[i] = v
	}
	return b
}

func TestGetLengths(t *testing.T) {
	for _, n := range []int{0, 1, MinLen - 1, MinLen, 3*MinLen + 5} {
		Put(filled(n, 7))
		assert.Len(t, Get(n), n, "Get(%d)", n)
		z, fresh := Take(n)
		require.Len(t, z, n, "Take(%d)", n)
		if fresh {
			for i, v := range z {
				require.Zero(t, v, "Take(%d)[%d] is fresh but not zero", n, i)
			}
		}
	}
}

// A buffer given back comes out again (sync.Pool may drop it, so the test
// tries a few times), and buffers below MinLen or with spare capacity are
// not kept.
func TestPutKeeps(t *testing.T) {
	for _, tc := range []struct {
		name string
		buf  []float32
		kept bool
	}{
		{"pooled", make([]float32, MinLen+1), true},
		{"short", make([]float32, MinLen-1), false},
		{"spare capacity", make([]float32, MinLen+2, MinLen+3), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.buf)
			seen := false
			for range 10 {
				Put(tc.buf)
				if b := Get(n); &b[0] == &tc.buf[0] {
					seen = true
					break
				}
			}
			assert.Equal(t, tc.kept, seen)
		})
	}
}

func TestPoison(t *testing.T) {
	was := SetPoison(true)
	defer SetPoison(was)
	b := filled(MinLen, 1)
	puts := ReadStats().Puts
	Put(b)
	assert.Equal(t, puts+1, ReadStats().Puts)
	for i, v := range b {
		require.True(t, math.IsNaN(float64(v)), "element %d is %v after Put in poison mode", i, v)
	}
	for range 10 {
		c := Get(MinLen)
		require.NotSame(t, &b[0], &c[0], "poison mode handed a released buffer out again")
	}
}
