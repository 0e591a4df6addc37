// Command graytrain trains the classifier behind metrics' "gantry-gray"
// feature extractor on the MNIST and Fashion-MNIST images shipped with gantry
// (20 classes: digits 0-9, then clothes 0-9) and writes its weights:
//
//	go run ./internal/cmd/graytrain -out metrics/gray.safetensors
//
// Held out from training, for the reported test accuracy: 400 of the shipped
// MNIST training images (chosen with the seed) and the 1000 shipped
// Fashion-MNIST test images. With -mnist DIR -fashion DIR (folders of the
// original files, see data/shipped.LoadFull) it trains on the full training
// sets instead and reports accuracy on the full test sets. Every epoch sees the training images at 28×28
// and again at 32×32, so the features serve both resolutions. The run is
// deterministic for a seed.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/internal/graynet"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

// shifted relabels a dataset's classes by adding off.
type shifted struct {
	data.Dataset
	off int
}

func (s shifted) Label(i int) int { return s.Dataset.Label(i) + s.off }

type set struct {
	name string
	ds   data.Dataset
}

// load returns the training sets (digits, then clothes relabelled 10-19) and
// the test sets at resolution res: the shipped parts, or the full sets when
// both folders are given.
func load(res int, seed uint64, mnistDir, fashionDir string) (train []data.Dataset, test []set, err error) {
	if mnistDir != "" && fashionDir != "" {
		sets := make([]*data.Memory, 4)
		for i, src := range []struct {
			dir, split string
			classes    []string
		}{
			{mnistDir, "train", shipped.DigitClasses}, {mnistDir, "t10k", shipped.DigitClasses},
			{fashionDir, "train", shipped.FashionClasses}, {fashionDir, "t10k", shipped.FashionClasses},
		} {
			if sets[i], err = shipped.LoadFull(src.dir, src.split, src.classes, data.Resolution(res)); err != nil {
				return nil, nil, err
			}
		}
		train = []data.Dataset{sets[0], shifted{sets[2], 10}}
		test = []set{{fmt.Sprintf("mnist-t10k-%d", res), sets[1]}, {fmt.Sprintf("fashion-t10k-%d", res), shifted{sets[3], 10}}}
		return train, test, nil
	}
	digits, err := shipped.MNIST(data.Resolution(res))
	if err != nil {
		return nil, nil, err
	}
	clothes, err := shipped.FashionMNIST(data.Resolution(res))
	if err != nil {
		return nil, nil, err
	}
	clothesTest, err := shipped.FashionMNISTEval(data.Resolution(res))
	if err != nil {
		return nil, nil, err
	}
	dTrain, dTest := data.Split(digits, 400, rand.New(rand.NewPCG(seed, 1)))
	train = []data.Dataset{dTrain, shifted{clothes, 10}}
	test = []set{{fmt.Sprintf("mnist-%d", res), dTest}, {fmt.Sprintf("fashion-%d", res), shifted{clothesTest, 10}}}
	return train, test, nil
}

// concat joins datasets into one in-memory set.
func concat(parts ...data.Dataset) *data.Memory {
	var imgs []*tensor.Tensor
	var labels []int
	for _, p := range parts {
		m := data.Materialize(p)
		n := m.Len()
		sh := data.ImageShape(m)
		x := tensor.New(n, sh[0], sh[1], sh[2])
		per := sh[0] * sh[1] * sh[2]
		for i := range n {
			m.CopyImage(x.Data()[i*per:(i+1)*per], i)
			labels = append(labels, p.Label(i))
		}
		imgs = append(imgs, x)
	}
	return data.FromTensor(tensor.Concat(0, imgs...), labels, nil)
}

func accuracy(net *graynet.Net, ds data.Dataset) float64 {
	m := data.Materialize(ds)
	correct := 0
	autograd.NoGrad(func() {
		const b = 200
		sh := data.ImageShape(m)
		per := sh[0] * sh[1] * sh[2]
		for s := 0; s < m.Len(); s += b {
			n := min(b, m.Len()-s)
			x := tensor.New(n, sh[0], sh[1], sh[2])
			for i := range n {
				m.CopyImage(x.Data()[i*per:(i+1)*per], s+i)
			}
			pred := tensor.ArgMax(net.Forward(autograd.Const(x)).Value, 1)
			for i, p := range pred {
				if p == ds.Label(s+i) {
					correct++
				}
			}
		}
	})
	return float64(correct) / float64(ds.Len())
}

func main() {
	out := flag.String("out", "metrics/gray.safetensors", "output file")
	epochs := flag.Int("epochs", 15, "passes over the training images (at each resolution)")
	seed := flag.Uint64("seed", 2018, "random seed")
	mnistDir := flag.String("mnist", "", "folder of the full MNIST files (with -fashion: train on the full sets)")
	fashionDir := flag.String("fashion", "", "folder of the full Fashion-MNIST files")
	flag.Parse()
	if err := run(*out, *epochs, *seed, *mnistDir, *fashionDir); err != nil {
		fmt.Fprintln(os.Stderr, "graytrain:", err)
		os.Exit(1)
	}
}

func run(out string, epochs int, seed uint64, mnistDir, fashionDir string) error {
	r := rand.New(rand.NewPCG(seed, 2))
	tr28, te28, err := load(28, seed, mnistDir, fashionDir)
	if err != nil {
		return err
	}
	tr32, te32, err := load(32, seed, mnistDir, fashionDir)
	if err != nil {
		return err
	}
	sets := []*data.Memory{concat(tr28...), concat(tr32...)}
	net := graynet.New(r)
	cfg := optim.DefaultAdam()
	cfg.LR = 2e-3
	opt := optim.NewAdam(optim.Named(nn.Parameters(net)), cfg)
	const batch = 64
	loaders := []*data.Loader{data.NewLoader(sets[0], batch, r), data.NewLoader(sets[1], batch, r)}
	steps := epochs * sets[0].Len() / batch
	start := time.Now()
	for step := range steps {
		if step == steps*2/3 {
			opt.SetLR(0, cfg.LR/10)
		}
		for _, l := range loaders {
			x, labels := l.Next()
			logp := autograd.LogSoftmax(net.Forward(autograd.Const(x)), 1)
			loss := autograd.Neg(autograd.Scale(autograd.Sum(autograd.Mul(logp, autograd.Const(tensor.OneHot(labels, graynet.Classes))), false), 1/float32(len(labels))))
			opt.ZeroGrad()
			autograd.Backward(loss)
			opt.Step()
			if step%100 == 0 && l == loaders[0] {
				fmt.Printf("step %d/%d loss %.4f (%v)\n", step, steps, loss.Item(), time.Since(start).Round(time.Second))
			}
		}
	}
	meta := map[string]string{
		"model":  "gantry-gray",
		"arch":   "graynet: conv3x3 16, conv3x3/2 32, conv3x3/2 64, conv3x3/2 128, ReLU after each, spatial mean, linear 20",
		"epochs": strconv.Itoa(epochs),
		"seed":   strconv.FormatUint(seed, 10),
		"data":   "gantry's shipped MNIST and Fashion-MNIST parts",
	}
	if mnistDir != "" && fashionDir != "" {
		meta["data"] = "full MNIST and Fashion-MNIST training sets"
	}
	for _, s := range append(te28, te32...) {
		acc := accuracy(net, s.ds)
		meta["test_accuracy."+s.name] = strconv.FormatFloat(acc, 'f', 4, 64)
		fmt.Printf("test accuracy %s: %.4f (%d images)\n", s.name, acc, s.ds.Len())
	}
	return nn.SaveFile(out, nn.StateDict(net), meta)
}
