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
CHUNKS = [10, 50, 250, 1000]
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
    return {
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
    configs = [str(c) for c in (chunks or CHUNKS)] + ["naive"]
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
    scope = f"k={k}, {images} test images in batches of {batch}"
    if images < IMAGES_FULL:
        scope += (
            f" (fewer than {IMAGES_FULL:,} to save time; the cost per image does not depend on it)"
        )
    rows: list[Row] = []
    naive = results["naive"]
    naive_ll = median(x["mean_loglik"] for x in naive)
    best_chunk = min(configs[:-1], key=lambda c: median(x["per_image"] for x in results[c]))
    for i, config in enumerate(configs):
        res = results[config]
        name = (
            "naive, all k at once" if config == "naive" else f"log_likelihood, chunk_size={config}"
        )
        tensor_mb = (k if config == "naive" else int(config)) * min(batch, images) * 784 * 4 / 2**20
        agree = max(abs(x["mean_loglik"] - naive_ll) for x in res)
        rows.append(
            Row(
                b,
                f"{name}: time",
                [x["per_image"] for x in res],
                "s/image",
                note=(scope + "; " if i == 0 else "")
                + f"mean log p(x) {median(x['mean_loglik'] for x in res):.2f} nats, "
                f"max. difference to naive {agree:.1e}",
            )
        )
        rows.append(
            Row(
                b,
                f"{name}: peak memory above baseline",
                [x["extra_mb"] for x in res],
                "MB",
                note=f"one (chunk, B, D) float32 tensor: {tensor_mb:.1f} MB"
                + ("" if res[0]["peak_reset"] else "; lifetime peak, clear_refs unavailable"),
            )
        )
    best = results[best_chunk]
    speed = [n["per_image"] / o["per_image"] for n, o in zip(naive, best, strict=True)]
    rows.append(
        Row(
            b,
            f"naive time / log_likelihood time at its best chunk_size ({best_chunk})",
            speed,
            "x",
            target=">= 1",
            met=median(speed) >= 1,
        )
    )
    mem = {c: median(x["extra_mb"] for x in results[c]) for c in configs}
    naive_mb = mem["naive"]
    bounded = all(mem[c] < naive_mb for c in configs[:-1]) and all(
        mem[a] <= mem[b_] * 1.1 + 5 for a, b_ in zip(configs[:-2], configs[1:-1], strict=True)
    )
    rows.append(
        Row(
            b,
            "peak memory grows with chunk_size, below naive",
            [],
            "",
            target="bounded by chunk_size",
            met=bounded,
            note=", ".join(f"{c}: {mem[c]:.0f} MB" for c in configs),
        )
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
