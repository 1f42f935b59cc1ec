"""Training throughput: one epoch of the book's VAE, three ways, timed alternately in one process.

* **reference**: the loop of the PyTorch example ``pytorch/examples`` ``vae/main.py`` in its
  long-standing form: a ``Dataset`` of 28x28 ``uint8`` images served through ``DataLoader``
  (batch 128, shuffled) with a per-item ``ToTensor``-like transform, ``fc1/fc21/fc22/fc3/fc4``,
  ``binary_cross_entropy`` on ``sigmoid`` outputs summed over pixels and batch plus the KL, Adam
  with its defaults (lr 1e-3), and ``loss.item()`` every step. torchvision is not installed here,
  so ``ToTensor`` is emulated from a numpy array (torchvision's MNIST would also build a PIL image
  per item, which would only make the reference slower).
* **ours**: :func:`vae_tutorial.training.train` for one epoch (``dynamic_binarization=False``, so
  both sides fit the same grey values; no test set; no progress bar).
* **ours, foreach Adam**: the same with ``torch.optim.Adam(foreach=True)``, what ``train`` used
  before it switched to the fused kernel.
* **minimal eager loop**: the same epoch written as tersely as eager PyTorch allows (functional
  layers, the ELBO inline, fused Adam, no checks): how much of ``train``'s time is its own.
* **matmul floor**: only the matrix products of the same epoch (same layer sizes and batch sizes):
  per step the 4 forward products, the 4 weight gradients and the 3 input gradients (none for the
  first layer), written into preallocated outputs. No training loop can take less.

Model: 784-400-20, ReLU, Bernoulli decoder; data: the 4,000 training images of
``vae_tutorial.data.load_mnist()``; batch 128 (32 steps, the last of 32 images).

Run on its own: ``.venv/bin/python benchmarks/train_throughput.py [--repeats 7] [--threads 2 1]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from statistics import median

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Row, alternate, print_rows, ratios  # noqa: E402

BATCH = 128
LR = 1e-3
SIZES = [(784, 400), (400, 40), (20, 400), (400, 784)]  # (in, out) of the four linear layers


# --- the reference, written the way pytorch/examples vae/main.py writes it ----------------------
class RefVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def ref_loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def to_tensor(pic: np.ndarray) -> torch.Tensor:
    """What torchvision's ``ToTensor`` does to an (H, W) uint8 image: (1, H, W) float in [0, 1]."""
    img = torch.from_numpy(np.array(pic, np.uint8, copy=True))
    img = img.view(pic.shape[0], pic.shape[1], 1).permute((2, 0, 1)).contiguous()
    return img.to(dtype=torch.get_default_dtype()).div(255)


class ImageDataset(Dataset):
    """Like torchvision's ``MNIST``: ``uint8`` images and int labels, transformed per item."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.data, self.targets, self.transform = images, labels, transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        return self.transform(img), target


def reference_epoch(images: np.ndarray, labels: np.ndarray, seed: int = 1) -> float:
    torch.manual_seed(seed)
    model = RefVAE()
    start = time.perf_counter()
    train_loader = DataLoader(
        ImageDataset(images, labels, to_tensor), batch_size=BATCH, shuffle=True
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):  # noqa: B007 (as in the example)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = ref_loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    seconds = time.perf_counter() - start
    assert math.isfinite(train_loss)
    return seconds


# --- ours ---------------------------------------------------------------------------------------
def ours_epoch(x_train: torch.Tensor, *, foreach_adam: bool = False, seed: int = 1) -> float:
    from vae_tutorial import training
    from vae_tutorial.models import VAE

    torch.manual_seed(seed)
    model = VAE(784, 400, 20)
    fused_adam = training._adam
    if foreach_adam:
        training._adam = lambda params, lr: torch.optim.Adam(params, lr=lr, foreach=True)
    try:
        start = time.perf_counter()
        history = training.train(
            model,
            x_train,
            None,
            epochs=1,
            batch_size=BATCH,
            lr=LR,
            dynamic_binarization=False,
            progress=False,
            seed=seed,
        )
        seconds = time.perf_counter() - start
    finally:
        training._adam = fused_adam
    assert math.isfinite(history.train_elbo[0])
    return seconds


# --- what eager PyTorch allows: a minimal hand-written loop --------------------------------------
def minimal_epoch(x_train: torch.Tensor, seed: int = 1) -> float:
    """The same epoch written as tersely as eager PyTorch allows: functional layers on the model's
    parameters, the ELBO inline, fused Adam, batches by ``index_select``; no checks, no history."""
    from vae_tutorial.models import VAE

    torch.manual_seed(seed)
    model = VAE(784, 400, 20)
    n = x_train.shape[0]
    start = time.perf_counter()
    opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    e0, eh, d0, d2 = model.encoder[0], model.encoder_head, model.decoder[0], model.decoder[2]
    perm = torch.randperm(n)
    for i in range(math.ceil(n / BATCH)):
        xb = x_train.index_select(0, perm[i * BATCH : (i + 1) * BATCH])
        mu, logvar = F.linear(F.relu(F.linear(xb, e0.weight, e0.bias)), eh.weight, eh.bias).chunk(
            2, -1
        )
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = F.linear(F.relu(F.linear(z, d0.weight, d0.bias)), d2.weight, d2.bias)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum()
        loss = (F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") + kl) / xb.shape[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


# --- the floor: the same epoch's matrix products alone ------------------------------------------
def matmul_floor_epoch(n: int, seed: int = 0) -> float:
    g = torch.Generator().manual_seed(seed)
    batches = [min(BATCH, n - s * BATCH) for s in range(math.ceil(n / BATCH))]
    weights = [torch.randn(o, i, generator=g) for i, o in SIZES]  # (out, in)
    prepared = {}
    for b in set(batches):
        acts = [torch.randn(b, i, generator=g) for i, _ in SIZES]  # inputs of each layer
        grads = [torch.randn(b, o, generator=g) for _, o in SIZES]  # gradients of each output
        outs = [torch.empty(b, o) for _, o in SIZES]
        gw = [torch.empty(o, i) for i, o in SIZES]
        gx = [torch.empty(b, i) for i, _ in SIZES]
        prepared[b] = (acts, grads, outs, gw, gx)
    start = time.perf_counter()
    for b in batches:
        acts, grads, outs, gw, gx = prepared[b]
        for j, w in enumerate(weights):
            torch.mm(acts[j], w.t(), out=outs[j])  # forward: (B, in) @ (in, out)
            torch.mm(grads[j].t(), acts[j], out=gw[j])  # weight gradient: (out, B) @ (B, in)
            if j > 0:  # no gradient with respect to the data
                torch.mm(grads[j], w, out=gx[j])  # input gradient: (B, out) @ (out, in)
    return time.perf_counter() - start


def flops_per_epoch(n: int) -> float:
    """Floating-point operations of the floor's products for ``n`` examples (2 per multiply-add)."""
    macs = sum(i * o for i, o in SIZES)
    first = SIZES[0][0] * SIZES[0][1]
    return 2.0 * n * (3 * macs - first)


def full_scale_data(n: int = 60_000) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``n`` images at full-MNIST scale: the 5,000 embedded images (train and test) repeated.

    torchvision (and so MNIST's 60,000 training images) is not installed here; the cost of an
    epoch depends on the number and size of the images, not on what they show.
    """
    from vae_tutorial import data

    digits = data.load_mnist()
    base = torch.cat([digits.x_train, digits.x_test])  # (5000, 784)
    reps = math.ceil(n / base.shape[0])
    x = base.repeat(reps, 1)[:n].contiguous()
    labels = torch.cat([digits.y_train, digits.y_test]).repeat(reps)[:n].numpy()
    images = (x * 255).round().to(torch.uint8).reshape(n, 28, 28).numpy()
    return x, images, labels


def _rows(res: dict[str, list[float]], n: int, tag: str, scale: str) -> list[Row]:
    speedup = ratios(res["reference"], res["ours"])
    to_floor = ratios(res["ours"], res["floor"])
    gflops = [flops_per_epoch(n) / s / 1e9 for s in res["floor"]]
    spread = max(res["floor"]) / min(res["floor"])
    noisy = f"noisy: the floor varied {spread:.1f}x within this run" if spread > 1.5 else ""
    b = "training"
    full = scale != ""
    rows = [
        Row(b, f"reference loop (PyTorch example), one epoch{scale}, {tag}", res["reference"], "s"),
        Row(b, f"training.train, one epoch{scale}, {tag}", res["ours"], "s"),
    ]
    if "ours_foreach" in res:
        rows.append(
            Row(b, f"train with foreach Adam, one epoch{scale}, {tag}", res["ours_foreach"], "s")
        )
    rows += [
        Row(b, f"minimal eager loop (no checks), one epoch{scale}, {tag}", res["minimal"], "s"),
        Row(
            b,
            f"matmul floor of the same epoch{scale}, {tag}",
            res["floor"],
            "s",
            note=f"{flops_per_epoch(n) / 1e9:.1f} GFLOP, median {median(gflops):.0f} GFLOP/s",
        ),
        Row(
            b,
            f"reference / train{scale}, {tag}",
            speedup,
            "x",
            target=">= 2.5" if full else ">= 2",
            met=median(speedup) >= (2.5 if full else 2),
            note=noisy,
        ),
        Row(
            b,
            f"train / matmul floor{scale}, {tag}",
            to_floor,
            "x",
            target="<= 2" if full else "<= 3",
            met=median(to_floor) <= (2 if full else 3),
            note=noisy,
        ),
        Row(
            b,
            f"minimal eager loop / matmul floor{scale}, {tag}",
            ratios(res["minimal"], res["floor"]),
            "x",
        ),
        Row(
            b,
            f"reference / minimal eager loop{scale}, {tag}",
            ratios(res["reference"], res["minimal"]),
            "x",
        ),
    ]
    if "ours_foreach" in res:
        rows.append(
            Row(
                b,
                f"foreach Adam / fused Adam in train, {tag}",
                ratios(res["ours_foreach"], res["ours"]),
                "x",
            )
        )
    return rows


def run(
    repeats: int = 7,
    threads: list[int] | None = None,
    warmup: int = 1,
    full_scale: bool = True,
    full_repeats: int | None = None,
) -> list[Row]:
    """Time the sides alternately for each thread count; return the table rows.

    With ``full_scale`` also one epoch of 60,000 images (:func:`full_scale_data`): the
    reference, ``train``, the minimal loop and the matmul floor, alternated, ``full_repeats``
    rounds (default: ``repeats``).
    """
    from vae_tutorial import data

    digits = data.load_mnist()
    x_train = digits.x_train  # (4000, 784) float32 in [0, 1]
    n = x_train.shape[0]
    images = (x_train * 255).round().to(torch.uint8).reshape(n, 28, 28).numpy()
    labels = digits.y_train.numpy()
    default_threads = torch.get_num_threads()
    rows: list[Row] = []
    if full_scale:
        xb, ib, lb = full_scale_data()
        nb = xb.shape[0]
    for t in threads or [default_threads]:
        torch.set_num_threads(t)
        tag = f"{t} thread" + ("s" if t > 1 else "")
        sides = {
            "reference": lambda: reference_epoch(images, labels),
            "ours": lambda: ours_epoch(x_train),
            "ours_foreach": lambda: ours_epoch(x_train, foreach_adam=True),
            "minimal": lambda: minimal_epoch(x_train),
            "floor": lambda: matmul_floor_epoch(n),
        }
        rows += _rows(alternate(sides, repeats=repeats, warmup=warmup), n, tag, "")
        if full_scale:
            sides = {
                "reference": lambda: reference_epoch(ib, lb),
                "ours": lambda: ours_epoch(xb),
                "minimal": lambda: minimal_epoch(xb),
                "floor": lambda: matmul_floor_epoch(nb),
            }
            res = alternate(sides, repeats=full_repeats or repeats, warmup=warmup)
            rows += _rows(res, nb, tag, f" of {nb:,} images")
    torch.set_num_threads(default_threads)
    return rows


def profile(n: int = 60_000, row_limit: int = 20) -> str:
    """The torch.profiler table (top ops by self CPU time) of one ``train`` epoch of ``n``
    images, after one unprofiled warm-up epoch."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    x, _, _ = full_scale_data(n)
    ours_epoch(x)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        seconds = ours_epoch(x)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit)
    return f"training.train, one epoch of {n:,} images, profiled: {seconds:.2f} s\n\n{table}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (after one warm-up)")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=None,
        help="torch thread counts to run (default: torch's default)",
    )
    parser.add_argument("--no-full-scale", action="store_true", help="skip the 60,000-image epoch")
    parser.add_argument(
        "--full-repeats", type=int, default=None, help="rounds of the 60,000-image epoch"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the torch.profiler table of one 60,000-image train epoch (top ops)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        if args.threads:
            torch.set_num_threads(args.threads[0])
        print(profile())
        return
    rows = run(
        args.repeats,
        args.threads,
        full_scale=not args.no_full_scale,
        full_repeats=args.full_repeats,
    )
    print_rows(rows, "Training throughput")


if __name__ == "__main__":
    main()
