r"""Quadrature: the evidence and the posterior on a grid, and what that costs.

* :func:`make_grid`, :func:`grid_log_evidence` and :func:`grid_posterior` compute
  :math:`p(x) = \int p(x, z)\,dz` and :math:`p(z \mid x)` by the midpoint rule on a regular grid;
  :func:`evidence_cost_study` measures how the grid and naive Monte Carlo
  (:func:`~vae_tutorial.estimators.naive_monte_carlo`) degrade as the latent dimension grows.
* :func:`kl_quadrature_1d`: a KL divergence of two 1-D densities by the trapezoid rule.

Values are in nats per example. Shape letters: B batch, D data, L latent, N grid points.

Introduced in the chapter "Latent variable models and Bayes' rule" (:func:`kl_quadrature_1d` in
"KL divergence").
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
from torch import nn

from vae_tutorial._checks import (
    check_positive_int,
    check_real,
    check_tensor,
    is_validation_enabled,
    shape_str,
)
from vae_tutorial.estimators import naive_monte_carlo
from vae_tutorial.models import LinearGaussian

__all__ = [
    "evidence_cost_study",
    "grid_log_evidence",
    "grid_posterior",
    "kl_quadrature_1d",
    "make_grid",
]


def make_grid(
    latent_dim: int, n_per_dim: int, *, lim: float = 6.0, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, float]:
    r"""Midpoints of a regular grid on the cube :math:`[-\text{lim}, \text{lim}]^L`.

    The midpoint rule :math:`\int f(z)\,dz \approx \Delta^L \sum_n f(z_n)` with
    :math:`\Delta = 2\,\text{lim}/n` uses these points; its cost is :math:`n^L` evaluations.

    Args:
        latent_dim: L.
        n_per_dim: n, points per axis.
        lim: Half-width of the cube, in prior standard deviations (the prior is
            :math:`\mathcal{N}(0, I)`, so 6 leaves out a mass of about :math:`2 \cdot 10^{-9} L`).
        dtype: Floating-point type of the points.

    Shape:
        - Output: points :math:`(n^L, L)` and the cell volume :math:`\Delta^L` (a float).

    Returns:
        ``(points, cell_volume)``.

    Raises:
        TypeError: If ``latent_dim`` or ``n_per_dim`` is not an int, or ``lim`` not a number.
        ValueError: If one of them is not positive.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    check_positive_int("latent_dim", latent_dim)
    check_positive_int("n_per_dim", n_per_dim)
    check_real("lim", lim)
    if lim <= 0:
        raise ValueError(f"lim must be > 0; got {lim}")
    step = 2.0 * lim / n_per_dim
    axis = -lim + step * (torch.arange(n_per_dim, dtype=dtype) + 0.5)  # (n,)
    points = torch.cartesian_prod(*([axis] * latent_dim)).reshape(-1, latent_dim)  # (n^L, L)
    return points, step**latent_dim


def _log_joint_on_points(
    model: nn.Module, x: torch.Tensor, points: torch.Tensor, chunk_size: int
) -> torch.Tensor:
    """log p(x, z_n) for every grid point z_n and data point x: (N, B)."""
    out = []
    for start in range(0, points.shape[0], chunk_size):
        z = points[start : start + chunk_size].unsqueeze(1)  # (n, 1, L)
        out.append(model.log_joint(x, z))  # (n, B)
    return torch.cat(out, dim=0)


def grid_log_evidence(
    model: nn.Module,
    x: torch.Tensor,
    *,
    n_per_dim: int = 100,
    lim: float = 6.0,
    chunk_size: int = 65536,
) -> torch.Tensor:
    r"""Log evidence by the midpoint rule on a regular grid over the latent space.

    .. math::
        p(x) = \int p(x, z)\, dz \approx \Delta^L \sum_{n=1}^{N} p(x, z_n),
        \qquad N = n^L \text{ grid points}

    computed in log space with ``logsumexp``. Exact up to discretization; costs :math:`n^L`
    evaluations of the joint, which is why it stops being an option beyond a few latent dims.

    Args:
        model: A model with ``log_joint(x, z)`` and ``latent_dim`` (e.g.
            :class:`~vae_tutorial.models.LinearGaussian`).
        x: Data points.
        n_per_dim: Grid points per latent axis.
        lim: Half-width of the grid cube.
        chunk_size: Grid points evaluated at once (bounds the memory).

    Shape:
        - x: :math:`(B, D)`.
        - Output: :math:`(B)`.

    Returns:
        :math:`\log p(x)` in nats per example.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor.
        ValueError: If a size is not positive.

    References:
        Oala, "Concept Notes: The Variational Auto-Encoder" (2018), eq. 2 (the integral); the
        chapter answers its "why not?" with this function.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    check_tensor("x", x, min_dim=2)
    check_positive_int("chunk_size", chunk_size)
    points, volume = make_grid(model.latent_dim, n_per_dim, lim=lim, dtype=x.dtype)
    log_joint = _log_joint_on_points(model, x, points.to(x.device), chunk_size)  # (N, B)
    # \log p(x) \approx \log \Delta^L + \operatorname{logsumexp}_n \log p(x, z_n)
    return math.log(volume) + torch.logsumexp(log_joint, dim=0)


def grid_posterior(
    model: nn.Module, x: torch.Tensor, points: torch.Tensor, cell_volume: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Posterior density on grid points by Bayes' rule, normalized by quadrature.

    .. math::
        p(z_n \mid x) = \frac{p(x \mid z_n)\, p(z_n)}{p(x)}, \qquad
        p(x) \approx \Delta^L \sum_m p(x, z_m)

    Args:
        model: A model with ``log_joint(x, z)``.
        x: Data points.
        points: Grid points, e.g. from :func:`make_grid`.
        cell_volume: :math:`\Delta^L`, the volume of one grid cell.

    Shape:
        - x: :math:`(B, D)`; points: :math:`(N, L)`.
        - Output: density :math:`(B, N)` and log evidence :math:`(B)`.

    Returns:
        ``(density, log_evidence)``: the posterior density at each point (it sums to
        :math:`1/\Delta^L`) and :math:`\log p(x)` in nats.

    Raises:
        TypeError: If ``x`` or ``points`` is not a floating-point tensor.
        ValueError: If ``cell_volume`` is not positive.

    References:
        Bayes' rule as in Oala (2018), eq. 4, and in "Variational Autoencoders Derived"
        (2020), eq. 1.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    check_tensor("x", x, min_dim=2)
    check_tensor("points", points, min_dim=2)
    check_real("cell_volume", cell_volume)
    if cell_volume <= 0:
        raise ValueError(f"cell_volume must be > 0; got {cell_volume}")
    log_joint = _log_joint_on_points(model, x, points, 65536).T  # (B, N)
    # \log p(x) \approx \log \Delta^L + \operatorname{logsumexp}_m \log p(x, z_m)
    log_evidence = math.log(cell_volume) + torch.logsumexp(log_joint, dim=-1)  # (B,)
    # p(z_n | x) = \exp(\log p(x, z_n) - \log p(x))
    density = torch.exp(log_joint - log_evidence.unsqueeze(-1))
    return density, log_evidence


def evidence_cost_study(
    latent_dims: Sequence[int],
    *,
    budget: int = 100_000,
    data_dim: int = 20,
    noise_std: float = 0.5,
    n_points: int = 5,
    seed: int = 0,
) -> list[dict[str, float]]:
    r"""Error of grid quadrature and naive Monte Carlo at a fixed budget, per latent dimension.

    For each L a :class:`~vae_tutorial.models.LinearGaussian` (D = ``data_dim``) is drawn, a few
    points x are sampled from it, and :math:`\log p(x)` is estimated with ``budget`` evaluations
    of the joint: a grid with :math:`n = \lfloor \text{budget}^{1/L} \rfloor` points per axis,
    and ``budget`` prior samples (:func:`~vae_tutorial.estimators.naive_monte_carlo`). Errors
    are absolute, in nats, averaged over the points.

    Args:
        latent_dims: The values of L to try.
        budget: Evaluations of :math:`p(x, z)` allowed per data point.
        data_dim: D.
        noise_std: :math:`\sigma` of the model; smaller means a narrower posterior.
        n_points: Data points per model.
        seed: Seed for the models, the data and the Monte Carlo samples.

    Returns:
        One dict per L with keys ``latent_dim``, ``grid_per_dim``, ``grid_evaluations``,
        ``grid_error``, ``mc_error``, ``posterior_std`` (mean posterior standard deviation),
        ``grid_seconds`` and ``mc_seconds`` (wall-clock time, machine dependent).

    Raises:
        ValueError: If ``latent_dims`` is empty or ``budget`` is not positive.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    if len(latent_dims) == 0:
        raise ValueError("latent_dims must be a non-empty sequence of ints; got an empty one")
    check_positive_int("budget", budget)
    rows = []
    for latent in latent_dims:
        check_positive_int("latent_dims[i]", latent)
        model = LinearGaussian.random(data_dim, latent, noise_std, seed=seed + latent)
        g = torch.Generator().manual_seed(seed + 1000 + latent)
        with torch.no_grad():
            x, _ = model.sample(n_points, generator=g)
            exact = model.log_evidence(x)
            n = max(1, int(math.floor(budget ** (1.0 / latent) + 1e-9)))
            t0 = time.perf_counter()
            grid = grid_log_evidence(model, x, n_per_dim=n)
            t1 = time.perf_counter()
            # naive Monte Carlo: the same K prior samples for every point, 65536 at a time
            mc = naive_monte_carlo(
                model, x, budget, generator=g, chunk_size=65536, shared_noise=True
            ).log_evidence
            t2 = time.perf_counter()
            _, cov = model.posterior(x)
        rows.append(
            dict(
                latent_dim=latent,
                grid_per_dim=n,
                grid_evaluations=n**latent,
                grid_error=float((grid - exact).abs().mean()),
                mc_error=float((mc - exact).abs().mean()),
                posterior_std=float(torch.diagonal(cov).sqrt().mean()),
                grid_seconds=t1 - t0,
                mc_seconds=t2 - t1,
            )
        )
    return rows


def kl_quadrature_1d(log_q: torch.Tensor, log_p: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    r"""KL divergence of two 1-D densities by the trapezoid rule on a grid.

    .. math::
        \mathrm{KL}(q \,\|\, p) = \int q(z) \log\frac{q(z)}{p(z)}\, dz
        \approx \operatorname{trapz}\big(q(z_n)[\log q(z_n) - \log p(z_n)]\big)

    Args:
        log_q: :math:`\log q` at the grid points.
        log_p: :math:`\log p` at the grid points.
        grid: Increasing grid points wide enough to hold the mass of :math:`q`.

    Shape:
        - log_q, log_p: :math:`(*, N)`; grid: :math:`(N,)`.
        - Output: :math:`(*)`.

    Returns:
        The KL divergence in nats (differentiable in ``log_q`` and ``log_p``).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If the last dims differ from the grid.

    Introduced in the chapter "KL divergence".
    """
    if is_validation_enabled():
        check_tensor("grid", grid, min_dim=1)
        for name, value in (("log_q", log_q), ("log_p", log_p)):
            check_tensor(name, value, min_dim=1, finite=False)
            if value.shape[-1] != grid.shape[0]:
                raise ValueError(
                    f"{name} must have last dim N={grid.shape[0]} (the grid); "
                    f"got {shape_str(value.shape)}"
                )
    q = torch.exp(log_q)
    # q (\log q - \log p), with 0 \log 0 = 0 where q underflows
    integrand = torch.where(q > 0, q * (log_q - log_p), torch.zeros_like(q))
    return torch.trapezoid(integrand, grid, dim=-1)
