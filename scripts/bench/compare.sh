#!/bin/sh
# compare.sh runs gantry's convolution benchmarks (BenchmarkConv2d in
# package tensor) and PyTorch's on the same shapes (torch_conv.py),
# interleaved, at 1 and 2 threads, and prints a table of GFLOP/s and of the
# ratio ours/PyTorch (medians over the rounds). With ITER=1 it also compares
# whole WGAN-GP iterations of the paper's ResNet (internal/cmd/stepprof
# against paper_resnet.py), in seconds per iteration: the iter rows time gan's
# trainer, the bare rows stepprof's bare step (their ratio column is the
# trainer's overhead over it).
#
# It needs Debian's PyTorch (apt-get install python3-torch); without it only
# our figures are printed. Only one benchmark should run on the machine at a
# time: other load distorts the 2-thread figures most.
#
# Environment:
#   ROUNDS=3           interleaved rounds
#   MODES=fwd+bwd      fwd, fwd+bwd or fwd,fwd+bwd
#   SHAPES=.           regexp on the benchmark shape names (e.g. '^64x')
#   THREADS="1 2"      thread counts
#   BENCHTIME=300ms    go test -benchtime per benchmark
#   ITER=0             1 to add the whole-iteration comparison
#   ITER_CONFIGS="16:16 16:64 32:16 32:64"   d:batch of the iterations
#   ITER_THREADS=2     thread counts for the iterations
#   PYTHON=/usr/bin/python3
set -eu
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
MODES=${MODES:-fwd+bwd}
SHAPES=${SHAPES:-.}
THREADS=${THREADS:-"1 2"}
BENCHTIME=${BENCHTIME:-300ms}
ITER=${ITER:-0}
ITER_CONFIGS=${ITER_CONFIGS:-"16:16 16:64 32:16 32:64"}
ITER_THREADS=${ITER_THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

torch() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" "$@"; }
have_torch=1
torch -c 'import torch' 2>/dev/null || { have_torch=0; echo "PyTorch not found ($PYTHON): our figures only" >&2; }

go test -c -o "$tmp/tensor.test" ./tensor
modes_re=$(echo "$MODES" | sed 's/+/\\+/g; s/,/|/g')
pattern="Conv2d/($modes_re)\$/"
: >"$tmp/results"

# bench_go THREADS: our benchmarks, as RESULT lines.
bench_go() {
	(cd tensor && "$tmp/tensor.test" -test.run '^$' -test.bench "^BenchmarkConv2d\$/^($modes_re)\$/$SHAPES" \
		-test.benchtime "$BENCHTIME" -test.cpu "$1") |
		awk -v t="$1" -v re="$SHAPES" '/^BenchmarkConv2d\// {
			split($1, p, "/"); name = p[3]; sub(/-[0-9]+$/, "", name)
			for (i = 2; i <= NF; i++) if ($i == "GFLOP/s") g = $(i-1)
			if (name ~ re) print "OURS", p[2], name, t, g }'
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	order=$THREADS
	[ $((r % 2)) -eq 0 ] && order=$(echo "$THREADS" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
	for t in $order; do
		echo "round $r/$ROUNDS, $t thread(s)" >&2
		bench_go "$t" >>"$tmp/results"
		if [ "$have_torch" = 1 ]; then
			shapes=$(awk '$1 == "OURS" && $2 != "iter" {print $3}' "$tmp/results" | awk '!seen[$0]++')
			# shellcheck disable=SC2086
			torch scripts/bench/torch_conv.py --threads "$t" --modes "$MODES" --reps 1 $shapes |
				awk '$1 == "RESULT" {print "TORCH", $2, $3, $4, $5}' >>"$tmp/results"
		fi
	done
	if [ "$ITER" = 1 ]; then
		go build -o "$tmp/stepprof" ./internal/cmd/stepprof
		for t in $ITER_THREADS; do
			for cfg in $ITER_CONFIGS; do
				d=${cfg%:*} b=${cfg#*:}
				echo "round $r/$ROUNDS, iteration d=$d batch=$b, $t thread(s)" >&2
				# The iter row is an iteration of gan's trainer (stepprof -trainer
				# prints it after the bare step, which is kept as a "bare" row).
				GOMAXPROCS=$t "$tmp/stepprof" -d "$d" -batch "$b" -iters 2 -trainer |
					awk -v t="$t" '$1 ~ /^d=/ {b = $3; sub(/:$/, "", b); print "OURS bare", $1, b, t, $4}
						$1 == "trainer" {b = $4; sub(/:$/, "", b); print "OURS iter", $2, b, t, $5}' >>"$tmp/results"
				if [ "$have_torch" = 1 ]; then
					torch scripts/bench/paper_resnet.py --threads "$t" --iters 2 "$cfg" |
						awk '$1 == "RESULT" {print "TORCH", $2, $3, $4, $5, $6}' >>"$tmp/results"
				fi
			done
		done
	fi
done

"$PYTHON" - "$tmp/results" "$THREADS" <<'PY'
import collections, statistics, sys
res = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    f = line.split()
    if f[1] in ("iter", "bare"):
        who, mode, name, t, v = f[0], "iter", f[2] + " " + f[3], f[4], float(f[5])
    else:
        who, mode, name, t, v = f[0], f[1], f[2], f[3], float(f[4])
    if (mode, name) not in order:
        order.append((mode, name))
    res[(who, mode, name, t)].append(v)
threads = sys.argv[2].split()
med = lambda k: statistics.median(res[k]) if res.get(k) else None
hdr = "| mode | shape |" + "".join(" ours %sT | torch %sT | ratio %sT |" % (t, t, t) for t in threads)
print("GFLOP/s of convolutions (fwd+bwd counted as 3x the forward FLOPs); iter rows are seconds per")
print("WGAN-GP iteration of the paper's ResNet, with ratio = PyTorch's time / ours. Ratios above 1: we are faster.")
print()
print(hdr)
print("|" + " --- |" * (2 + 3 * len(threads)))
for mode, name in order:
    row = "| %s | %s |" % (mode, name)
    for t in threads:
        o, p = med(("OURS", mode, name, t)), med(("TORCH", mode, name, t))
        fmt = "%.2f" if mode in ("iter", "bare") else "%.1f"
        cell = lambda v: (fmt % v) if v is not None else "-"
        # For iterations (seconds) the ratio is PyTorch's time over ours,
        # so that above 1 means faster, as for GFLOP/s.
        ratio = "-"
        if o and p:
            ratio = "%.2f" % ((p / o) if mode == "iter" else (o / p))
        if mode == "bare" and o:
            # The bare step against our own trainer: the trainer's overhead.
            it = med(("OURS", "iter", name, t))
            ratio = "trainer +%.1f%%" % (100 * (it / o - 1)) if it else "-"
        row += " %s | %s | %s |" % (cell(o), cell(p), ratio)
    print(row)
PY
