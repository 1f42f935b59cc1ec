"""Run every benchmark and print one markdown table (median, min and max of several runs).

Usage, from the repository root::

    .venv/bin/python benchmarks/run.py            # everything, full sizes (15-30 min, 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # fewer images and repeats (about 5-10 min)
    .venv/bin/python benchmarks/run.py --only training loglik

Benchmarks (one script each, each also runnable on its own):

* ``train_throughput.py``: one epoch of the 784-400-20 VAE on 4,000 and on 60,000 images,
  ``training.train`` against the PyTorch-example loop and against the epoch's matrix products
  alone (``--profile``: the torch.profiler table of one 60,000-image epoch);
* ``loglik.py``: ``estimators.log_likelihood`` (k = 5000) against its previous version and a
  naive one, time per image beside the decoder's matmul floor, and peak memory;
* ``quality.py``: the chapter-7 model's test ELBO and log-likelihood; full MNIST when present;
* ``build_time.py``: cold and warm book builds and each chapter's execution time.

Nothing here is part of the test suite: timings depend on the machine and on what else runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

BENCHMARKS = ("training", "loglik", "quality", "build")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats; log-likelihood on 100 images, quality on 200 test images",
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument(
        "--ll-images",
        type=int,
        default=None,
        help="test images for the log-likelihood benchmark (default 1000, 100 with --quick)",
    )
    parser.add_argument(
        "--cold", type=int, default=None, help="cold builds (default 2, 1 with --quick)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for the log-likelihood and quality benchmarks (default: "
        "torch's default); the training benchmark always runs with one thread per core "
        "and with 1 thread",
    )
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    header = _common.machine()
    start = time.perf_counter()
    rows: list[_common.Row] = []
    notes: list[str] = []
    if "training" in args.only:
        import os

        import train_throughput

        # both the machine's core count and 1 thread, whatever --threads says
        threads = sorted({os.cpu_count() or 1, 1}, reverse=True)
        rows += train_throughput.run(repeats=5 if args.quick else 9, threads=threads)
    if "loglik" in args.only:
        import loglik

        rows += loglik.run(quick=args.quick, repeats=3, images=args.ll_images, threads=args.threads)
    if "quality" in args.only:
        import quality

        rows += quality.run(images=200 if args.quick else None)
    if "build" in args.only:
        import build_time

        rows += build_time.run(cold=args.cold or (1 if args.quick else 2), warm=3)
    header["load average at the end"] = _common.machine()["load average (1, 5, 15 min)"]
    header["wall time"] = f"{time.perf_counter() - start:.0f} s"
    if args.quick:
        header["mode"] = "--quick"
    print(_common.table(rows, title="VAE, Derived: benchmarks", notes=notes, header=header))


if __name__ == "__main__":
    main()
