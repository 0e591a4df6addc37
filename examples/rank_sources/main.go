// Command rank_sources scores the shipped source GANs against a target
// before any fine-tuning (the paper's section 4.5): FID and KID between each
// source's samples and the target images, and recall, best first. The source
// whose samples are closest tends to transfer best.
//
//	go run ./examples/rank_sources
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/transfer"
)

func main() {
	n := flag.Int("n", 1000, "target images: a class-balanced subset of the shipped Fashion-MNIST")
	flag.Parse()
	if err := run(*n, nil); err != nil {
		fmt.Fprintln(os.Stderr, "rank_sources:", err)
		os.Exit(1)
	}
}

// run ranks the given candidates, or the shipped sources when there are
// none, against n Fashion-MNIST images.
func run(n int, cands []transfer.Candidate) error {
	if cands == nil {
		for _, name := range []string{sources.NameMNIST, sources.NameFashion} {
			m, err := sources.Open(name)
			if err != nil {
				fmt.Printf("passing over %s: %v\n", name, err)
				continue
			}
			cands = append(cands, transfer.Candidate{Name: name, Model: m})
		}
	}
	if len(cands) == 0 {
		return fmt.Errorf("no source to rank")
	}
	all, err := shipped.FashionMNIST(data.Resolution(32))
	if err != nil {
		return err
	}
	target, err := data.BalancedSubset(all, n, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return err
	}
	ranking, err := transfer.RankSources(cands, target, transfer.RankOptions{Seed: 1})
	if err != nil {
		return err
	}
	for i, r := range ranking {
		fmt.Printf("%d. %s\n   %s\n   %s\n   %s\n", i+1, r.Name, r.FID, r.KID, r.Recall)
	}
	return nil
}
