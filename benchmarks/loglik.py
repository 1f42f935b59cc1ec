"""Log-likelihood evaluation: ``estimators.log_likelihood`` (k = 5000) by chunk size, against a
naive version that materializes all k samples at once.

Each configuration runs in a fresh subprocess (so that one configuration's freed memory cannot
hide the next one's peak). In the subprocess, after a small warm-up call, the peak resident set
size is reset (``/proc/self/clear_refs``; where that is not available the process's lifetime
peak ``ru_maxrss`` is used), the images are evaluated in batches of ``--batch`` images, and the
subprocess reports the seconds, the peak resident memory above the resident memory before the
call, and the mean log-likelihood (so that the configurations can be checked to agree: both
sides draw the same noise, one ``(B, L)`` draw per sample from one generator seeded per call).
``tracemalloc`` would not see torch's CPU allocations, hence the resident set size.

* **ours**: ``log_likelihood(model, x_batch, k, chunk_size, seed=0)`` for several chunk sizes.
* **naive**: encode, draw all ``k`` samples, decode them in one ``(k, B, D)`` tensor, logsumexp:
  what one writes first.

The model is the book's 784-400-20 VAE at its seeded initialization (the cost does not depend on
the weights); the images are the first test images of ``load_mnist()``, binarized once.

Run on its own: ``.venv/bin/python benchmarks/loglik.py [--images 1000] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, Row, print_rows  # noqa: E402

K = 5000
CHUNKS: list[int] = []  # extra chunk_size values to time (--chunks)
IMAGES_FULL, IMAGES_QUICK = 1000, 100
BATCH = 20  # images per call, the same for every configuration


def _rss_kb() -> dict[str, int]:
    text = Path("/proc/self/status").read_text()
    return {k: int(v) for k, v in re.findall(r"(VmRSS|VmHWM):\s+(\d+) kB", text)}


def _reset_peak() -> bool:
    try:  # hand freed heap memory back first, so that the baseline holds only live memory
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        return True
    except OSError:
        return False


def naive_log_likelihood(model, x, k: int, *, seed: int = 0):
    """All ``k`` samples at once: ``(k, B, L)`` latents and ``(k, B, D)`` logits in memory."""
    import torch

    from vae_tutorial import losses

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        mu, logvar = model.encode(x)  # (B, L)
        eps = torch.stack(
            [torch.randn(mu.shape, generator=generator) for _ in range(k)]
        )  # (k, B, L)
        z = mu + torch.exp(0.5 * logvar) * eps  # (k, B, L)
        log_w = (
            losses.log_bernoulli(x, model.decode(z))  # (k, B, D) logits -> (k, B)
            + losses.log_standard_normal(z)
            - losses.log_normal_diag(z, mu, logvar)
        )
        return torch.logsumexp(log_w, dim=0) - math.log(k)  # (B,)


def previous_log_likelihood(model, x, k: int, chunk_size: int = 50, *, seed: int = 0):
    """``log_likelihood`` as it was before issue 16: ``chunk_size`` samples of all ``B`` images
    per decoder call (``chunk_size * B`` rows, however many that is), ``-BCE`` from the logits."""
    import torch

    from vae_tutorial import losses
    from vae_tutorial.estimators import stream_log_weights

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        mu, logvar = model.encode(x)  # (B, L)

        def draw(start, c):
            eps = torch.stack([torch.randn(mu.shape, generator=generator) for _ in range(c)])
            return mu + torch.exp(0.5 * logvar) * eps  # (c, B, L)

        def log_weight(z):
            return (
                losses.log_bernoulli(x, model.decode(z))
                + losses.log_standard_normal(z)
                - losses.log_normal_diag(z, mu, logvar)
            )

        log_sum, _ = stream_log_weights(draw, log_weight, k, chunk_size, keep=False)
        return log_sum - math.log(k)


DECODER = [(20, 400), (400, 784)]  # (in, out) of the decoder's two linear layers


def decoder_flops(k: int) -> float:
    """Floating-point operations of the decoder's matrix products for one image, k samples."""
    return 2.0 * k * sum(i * o for i, o in DECODER)


def matmul_floor(k: int, rows: int = 2048, repeats: int = 20) -> tuple[float, float]:
    """Seconds per image of the decoder's matrix products alone (``rows`` rows per product,
    preallocated outputs, best of ``repeats``), and the rate in FLOP/s they ran at."""
    import torch

    g = torch.Generator().manual_seed(0)
    ins = [torch.randn(rows, i, generator=g) for i, _ in DECODER]
    ws = [torch.randn(o, i, generator=g) for i, o in DECODER]
    outs = [torch.empty(rows, o) for _, o in DECODER]
    best = math.inf
    for _ in range(repeats + 2):
        start = time.perf_counter()
        for a, w, o in zip(ins, ws, outs, strict=True):
            torch.mm(a, w.t(), out=o)
        best = min(best, time.perf_counter() - start)
    rate = 2.0 * rows * sum(i * o for i, o in DECODER) / best
    return decoder_flops(k) / rate, rate


def worker(config: str, images: int, batch: int, k: int, threads: int | None) -> dict:
    """Evaluate ``images`` test images with one configuration; return what was measured."""
    import torch

    from vae_tutorial import data
    from vae_tutorial.estimators import log_likelihood
    from vae_tutorial.models import VAE

    if threads:
        torch.set_num_threads(threads)
    x = data.load_mnist().x_test[:images]
    x = torch.bernoulli(x, generator=torch.Generator().manual_seed(0))  # (N, D), binary
    torch.manual_seed(0)
    model = VAE(784, 400, 20).eval()

    if config == "naive":

        def evaluate(xb):
            return naive_log_likelihood(model, xb, k, seed=0)
    elif config == "previous":

        def evaluate(xb):
            return previous_log_likelihood(model, xb, k, 50, seed=0)
    elif config == "default":

        def evaluate(xb):
            return log_likelihood(model, xb, k, seed=0)
    elif config == "default-1":  # one image per call
        batch = 1

        def evaluate(xb):
            return log_likelihood(model, xb, k, seed=0)
    else:
        chunk = int(config)

        def evaluate(xb):
            return log_likelihood(model, xb, k, chunk, seed=0)

    evaluate(x[:1])  # warm-up: one image (one-time costs of the first call)
    import gc

    gc.collect()
    reset = _reset_peak()
    before = _rss_kb()["VmRSS"]
    start = time.perf_counter()
    values = [evaluate(x[i : i + batch]) for i in range(0, images, batch)]
    seconds = time.perf_counter() - start
    peak = _rss_kb()["VmHWM"] if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ll = torch.cat(values)
    floor, rate = matmul_floor(k)
    return {
        "floor_per_image": floor,
        "gflops": rate / 1e9,
        "batch": batch,
        "config": config,
        "seconds": seconds,
        "per_image": seconds / images,
        "extra_mb": (peak - before) / 1024,
        "peak_mb": peak / 1024,
        "baseline_mb": before / 1024,
        "peak_reset": reset,
        "mean_loglik": float(ll.mean()),
        "threads": torch.get_num_threads(),
    }


def run(
    quick: bool = False,
    repeats: int = 3,
    images: int | None = None,
    chunks: list[int] | None = None,
    batch: int = BATCH,
    k: int = K,
    threads: int | None = None,
) -> list[Row]:
    """Run every configuration ``repeats`` times, each in a fresh subprocess, alternating."""
    images = images or (IMAGES_QUICK if quick else IMAGES_FULL)
    configs = ["previous", "default", "default-1"] + [str(c) for c in (chunks or CHUNKS)]
    configs.append("naive")
    results: dict[str, list[dict]] = {c: [] for c in configs}
    for r in range(repeats):
        for config in configs if r % 2 == 0 else configs[::-1]:
            out = subprocess.run(
                [
                    PYTHON,
                    __file__,
                    "--worker",
                    config,
                    "--images",
                    str(images),
                    "--batch",
                    str(batch),
                    "--k",
                    str(k),
                ]
                + (["--threads", str(threads)] if threads else []),
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            results[config].append(json.loads(out.stdout.strip().splitlines()[-1]))
    b = "log-likelihood"
    scope = f"k={k}, {images} test images in calls of {batch}"
    if images < IMAGES_FULL:
        scope += (
            f" (fewer than {IMAGES_FULL:,} to save time; the cost per image does not depend on it)"
        )
    names = {
        "previous": f"before (issue 16): 50 samples x {batch} images per decoder call, -BCE",
        "default": f"log_likelihood, defaults (at most 2048 rows per decoder call), {batch} images",
        "default-1": "log_likelihood, defaults, one image per call",
        "naive": f"naive, all k at once ({batch} images)",
    }
    rows: list[Row] = []
    naive_ll = median(x["mean_loglik"] for x in results["naive"])
    floors = [x["floor_per_image"] for c in configs for x in results[c]]
    rates = [x["gflops"] for c in configs for x in results[c]]
    rows.append(
        Row(
            b,
            "floor: the decoder's matrix products alone, per image",
            floors,
            "s/image",
            note=f"{scope}; {decoder_flops(k) / 1e9:.2f} GFLOP per image at the rate measured "
            f"in each worker (median {median(rates):.0f} GFLOP/s, 2048-row products)",
        )
    )
    for config in configs:
        res = results[config]
        name = names.get(config, f"log_likelihood, chunk_size={config}")
        agree = max(abs(x["mean_loglik"] - naive_ll) for x in res)
        same = (
            "other noise (B = 1 per call)"
            if config == "default-1"
            else f"max. difference to naive {agree:.1e}"
        )
        rows.append(
            Row(
                b,
                f"{name}: time",
                [x["per_image"] for x in res],
                "s/image",
                note=f"mean log p(x) {median(x['mean_loglik'] for x in res):.2f} nats, {same}",
            )
        )
        rows.append(
            Row(
                b,
                f"{name}: time / floor",
                [x["per_image"] / x["floor_per_image"] for x in res],
                "x",
                target="<= 2" if config.startswith("default") else "",
                met=(
                    median(x["per_image"] / x["floor_per_image"] for x in res) <= 2
                    if config.startswith("default")
                    else None
                ),
            )
        )
        rows.append(
            Row(
                b,
                f"{name}: peak memory above baseline",
                [x["extra_mb"] for x in res],
                "MB",
                note="" if res[0]["peak_reset"] else "lifetime peak, clear_refs unavailable",
            )
        )
    for other in ("previous", "naive"):
        speed = [
            a["per_image"] / o["per_image"]
            for a, o in zip(results[other], results["default"], strict=True)
        ]
        rows.append(
            Row(b, f"{names[other].split(':')[0]} / log_likelihood (defaults), time", speed, "x")
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{IMAGES_QUICK} images instead of {IMAGES_FULL}"
    )
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=BATCH, help="images per call")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--chunks", type=int, nargs="+", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.worker:
        print(
            json.dumps(
                worker(args.worker, args.images or IMAGES_FULL, args.batch, args.k, args.threads)
            )
        )
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows = run(args.quick, args.repeats, args.images, args.chunks, args.batch, args.k, args.threads)
    print_rows(rows, "Log-likelihood evaluation")


if __name__ == "__main__":
    main()
