r"""Exact and approximate inference on small latent variable models: the tools of chapters 1-3.

* Grids (chapter 1): :func:`make_grid`, :func:`grid_log_evidence` and :func:`grid_posterior`
  compute :math:`p(x) = \int p(x, z)\,dz` and :math:`p(z \mid x)` by quadrature, and
  :func:`prior_mc_log_evidence` by naive Monte Carlo from the prior;
  :func:`evidence_cost_study` measures how both degrade as the latent dimension grows.
* Divergences (chapter 2): :func:`entropy_normal_diag`, :func:`kl_monte_carlo` (with its
  standard error), :func:`kl_normal_mc`, :func:`kl_quadrature_1d` and :func:`fit_gaussian_1d`
  (forward and reverse KL fits of a Gaussian to a 1-D density).
* The ELBO on the linear-Gaussian model (chapter 3): :func:`expected_log_likelihood`,
  :func:`expected_log_joint`, :func:`linear_gaussian_elbo` (both forms, analytic or Monte
  Carlo), :func:`kl_to_posterior`, :func:`optimal_diagonal_q`; fitting :math:`q`:
  :func:`fit_per_datapoint` (stochastic variational inference), :class:`LinearEncoder` and
  :func:`fit_amortized` (amortized inference), :func:`variational_em` (learning :math:`\theta`).

Values are in nats per example. Shape letters: K samples (dim 0), B batch, D data, L latent.
The Gaussian :math:`q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag} e^{\text{logvar}})` is
always passed as ``mu``, ``logvar``.

References:
    - [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    - [BKM17] D. M. Blei, A. Kucukelbir and J. D. McAuliffe, "Variational Inference: A Review for
      Statisticians", JASA 2017.
    - [CLD18] C. Cremer, X. Li and D. Duvenaud, "Inference Suboptimality in Variational
      Autoencoders", ICML 2018.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_positive_int,
    check_real,
    check_reduction,
    check_same_shape,
    check_tensor,
    is_validation_enabled,
    reduce,
    shape_str,
    validation,
)
from vae_tutorial.models import LinearGaussian
from vae_tutorial.sampling import reparameterize

__all__ = [
    "FitResult",
    "LinearEncoder",
    "MonteCarloEstimate",
    "entropy_normal_diag",
    "evidence_cost_study",
    "expected_log_joint",
    "expected_log_likelihood",
    "fit_amortized",
    "fit_gaussian_1d",
    "fit_per_datapoint",
    "grid_log_evidence",
    "grid_posterior",
    "kl_monte_carlo",
    "kl_normal_mc",
    "kl_quadrature_1d",
    "kl_to_posterior",
    "linear_gaussian_elbo",
    "make_grid",
    "optimal_diagonal_q",
    "prior_mc_log_evidence",
    "variational_em",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_lg(model: object) -> None:
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a models.LinearGaussian; got {type(model).__name__}")


def _check_q(
    model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> None:
    if not is_validation_enabled():
        return
    check_tensor("x", x, min_dim=1)
    check_tensor("mu", mu, min_dim=1)
    check_tensor("logvar", logvar, min_dim=1)
    check_same_shape("logvar", logvar, "mu", mu)
    if x.shape[-1] != model.data_dim:
        raise ValueError(f"x must have last dim D={model.data_dim}; got shape {shape_str(x.shape)}")
    if mu.shape[-1] != model.latent_dim:
        raise ValueError(
            f"mu must have last dim L={model.latent_dim}; got shape {shape_str(mu.shape)}"
        )
    if mu.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"mu must have the batch shape of x {shape_str(x.shape[:-1])}; "
            f"got {shape_str(mu.shape[:-1])}"
        )


# --------------------------------------------------------------------------------------------
# Chapter 1: grids, quadrature and naive Monte Carlo
# --------------------------------------------------------------------------------------------


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


def prior_mc_log_evidence(
    model: nn.Module,
    x: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    chunk_size: int = 65536,
) -> torch.Tensor:
    r"""Naive Monte Carlo log evidence with samples from the prior.

    .. math::
        p(x) = \mathbb{E}_{p(z)}[p(x \mid z)] \approx \frac1K \sum_{k=1}^K p(x \mid z_k),
        \qquad z_k \sim \mathcal{N}(0, I)

    returned as :math:`\log \frac1K \sum_k p(x \mid z_k)` (log-sum-exp). The estimate of
    :math:`p(x)` is unbiased, but when the posterior occupies a small part of the prior almost
    no sample lands where :math:`p(x \mid z)` is large, and the error grows with the latent
    dimension. :mod:`vae_tutorial.estimators` holds the full estimator with standard errors and
    weights; this version streams samples in chunks for the large K of the cost study.

    Args:
        model: A model with ``log_joint(x, z)`` and ``latent_dim``.
        x: Data points.
        n_samples: K.
        eps: Standard normal samples to use as :math:`z` (tests and chapters).
        generator: Optional ``torch.Generator`` for the samples.
        chunk_size: Samples evaluated at once.

    Shape:
        - x: :math:`(B, D)`; eps: :math:`(K, L)` (shared across the batch).
        - Output: :math:`(B)`.

    Returns:
        The estimate of :math:`\log p(x)` in nats per example (biased low, by Jensen).

    Raises:
        TypeError: If ``x`` is not a floating-point tensor.
        ValueError: If ``eps`` has the wrong shape or a size is not positive.

    References:
        The lecture notes "Variational Autoencoder" (2020), "First attempt: Naive Monte
        Carlo"; Mohamed et al. (2020).

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    check_tensor("x", x, min_dim=2)
    check_positive_int("n_samples", n_samples)
    check_positive_int("chunk_size", chunk_size)
    latent = model.latent_dim
    if eps is not None:
        check_tensor("eps", eps, min_dim=2)
        if tuple(eps.shape) != (n_samples, latent):
            raise ValueError(
                f"eps must have shape {shape_str((n_samples, latent))}; got {shape_str(eps.shape)}"
            )
    total = torch.full(x.shape[:-1], -math.inf, dtype=x.dtype, device=x.device)
    for start in range(0, n_samples, chunk_size):
        k = min(chunk_size, n_samples - start)
        if eps is None:
            z = torch.randn(k, latent, dtype=x.dtype, device=x.device, generator=generator)
        else:
            z = eps[start : start + k]
        # \log p(x|z_k) = \log p(x, z_k) - \log p(z_k)
        log_lik = model.log_joint(x, z.unsqueeze(1)) - losses.log_standard_normal(z).unsqueeze(1)
        total = torch.logaddexp(total, torch.logsumexp(log_lik, dim=0))
    # \log \hat p(x) = \operatorname{logsumexp}_k \log p(x|z_k) - \log K
    return total - math.log(n_samples)


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
    and ``budget`` prior samples. Errors are absolute, in nats, averaged over the points.

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
            mc = prior_mc_log_evidence(model, x, budget, generator=g)
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


# --------------------------------------------------------------------------------------------
# Chapter 2: entropy and KL divergence
# --------------------------------------------------------------------------------------------


def entropy_normal_diag(logvar: torch.Tensor, *, reduction: str = "none") -> torch.Tensor:
    r"""Differential entropy of a diagonal Gaussian.

    .. math::
        H\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2)\big)
        = -\mathbb{E}[\log q(z)] = \tfrac12 \sum_{j=1}^L \big(1 + \log 2\pi + \log\sigma_j^2\big)

    It does not depend on the mean.

    Args:
        logvar: Log-variances :math:`\log\sigma^2`.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - logvar: :math:`(*, L)`.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        The entropy in nats (may be negative for a narrow Gaussian).

    Raises:
        TypeError: If ``logvar`` is not a floating-point tensor.
        ValueError: If it is not finite or ``reduction`` is unknown.

    References:
        Cover & Thomas (2006), theorem 8.4.1.

    Introduced in the chapter "KL divergence".
    """
    check_reduction(reduction)
    check_tensor("logvar", logvar, min_dim=1)
    # H = 1/2 \sum_j (1 + \log 2\pi + \log\sigma_j^2)
    h = 0.5 * (1.0 + _LOG_2PI + logvar).sum(-1)
    return reduce(h, reduction)


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo mean and its standard error, both with the batch shape.

    Attributes:
        estimate: The sample mean.
        standard_error: Sample standard deviation over :math:`\\sqrt K`.
        n_samples: K.
    """

    estimate: torch.Tensor
    standard_error: torch.Tensor
    n_samples: int


def kl_monte_carlo(log_q: torch.Tensor, log_p: torch.Tensor) -> MonteCarloEstimate:
    r"""Monte Carlo KL divergence from log densities at samples of :math:`q`.

    .. math::
        \mathrm{KL}(q \,\|\, p) = \mathbb{E}_{q}\Big[\log \frac{q(z)}{p(z)}\Big]
        \approx \frac1K \sum_{k=1}^K \big[\log q(z_k) - \log p(z_k)\big], \qquad z_k \sim q

    Args:
        log_q: :math:`\log q(z_k)` at K samples from :math:`q`.
        log_p: :math:`\log p(z_k)` at the same samples.

    Shape:
        - log_q, log_p: :math:`(K, *)`, samples at dim 0.
        - Output fields: :math:`(*)`.

    Returns:
        A :class:`MonteCarloEstimate` in nats: unbiased, and with a standard error that tells how
        far from the exact value it may be.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If the shapes differ or K < 2 (no standard error from one sample).

    Introduced in the chapter "KL divergence".
    """
    check_tensor("log_q", log_q, min_dim=1)
    check_tensor("log_p", log_p, min_dim=1)
    check_same_shape("log_p", log_p, "log_q", log_q)
    k = log_q.shape[0]
    if k < 2:
        raise ValueError(
            f"log_q must hold K >= 2 samples at dim 0; got shape {shape_str(log_q.shape)}"
        )
    # \log q(z_k) - \log p(z_k)
    log_ratio = log_q - log_p
    return MonteCarloEstimate(
        estimate=log_ratio.mean(0),
        standard_error=log_ratio.std(0) / math.sqrt(k),
        n_samples=k,
    )


def kl_normal_mc(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    logvar_p: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> MonteCarloEstimate:
    r"""Monte Carlo KL between diagonal Gaussians, the check on the closed form.

    Draws :math:`z_k = \mu_q + \sigma_q \odot \varepsilon_k` and averages
    :math:`\log q(z_k) - \log p(z_k)` (:func:`kl_monte_carlo`).

    Args:
        mu_q, logvar_q: Parameters of :math:`q`.
        mu_p, logvar_p: Parameters of :math:`p`, broadcastable with those of :math:`q`.
        n_samples: K >= 2.
        eps: Standard normal noise of shape ``(K, *mu_q.shape)``.
        generator: Optional ``torch.Generator``.

    Shape:
        - mu_q, logvar_q: :math:`(*, L)`; mu_p, logvar_p: broadcastable.
        - Output fields: :math:`(*)`.

    Returns:
        A :class:`MonteCarloEstimate` in nats, to compare with
        :func:`vae_tutorial.losses.kl_normal_normal`.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes do not match or ``n_samples < 2``.

    Introduced in the chapter "KL divergence".
    """
    check_positive_int("n_samples", n_samples)
    z = reparameterize(mu_q, logvar_q, eps, n_samples, generator=generator)  # (K, *, L)
    log_q = losses.log_normal_diag(z, mu_q, logvar_q)
    log_p = losses.log_normal_diag(z, mu_p, logvar_p)
    return kl_monte_carlo(log_q, log_p)


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


def fit_gaussian_1d(
    log_p: torch.Tensor,
    grid: torch.Tensor,
    *,
    direction: str = "reverse",
    init: tuple[float, float] = (0.0, 0.0),
    steps: int = 500,
    lr: float = 0.05,
) -> tuple[float, float]:
    r"""The Gaussian :math:`q = \mathcal{N}(\mu, \sigma^2)` closest in KL to a 1-D density p.

    * ``direction="forward"`` minimizes :math:`\mathrm{KL}(p \,\|\, q)`; the optimum matches the
      mean and variance of :math:`p` (moment matching, computed on the grid): it covers every mode.
    * ``direction="reverse"`` minimizes :math:`\mathrm{KL}(q \,\|\, p)`, the direction variational
      inference uses, by Adam on :func:`kl_quadrature_1d` from ``init``: it seeks one mode.

    Args:
        log_p: :math:`\log p` on the grid (normalized).
        grid: Increasing, evenly spaced grid points.
        direction: ``"forward"`` or ``"reverse"``.
        init: Starting ``(mu, logvar)`` for ``"reverse"``.
        steps: Adam steps for ``"reverse"``.
        lr: Adam learning rate.

    Shape:
        - log_p, grid: :math:`(N,)`.

    Returns:
        ``(mu, logvar)`` of the fitted Gaussian, as floats.

    Raises:
        ValueError: If ``direction`` is unknown or the shapes differ.

    References:
        Bishop (2006), section 10.1.2 and figure 10.3; Blei et al. (2017), section 2.

    Introduced in the chapter "KL divergence".
    """
    check_tensor("log_p", log_p, min_dim=1, finite=False)
    check_tensor("grid", grid, min_dim=1)
    if log_p.shape != grid.shape or grid.dim() != 1:
        raise ValueError(
            f"log_p and grid must both have shape (N,); got {shape_str(log_p.shape)} "
            f"and {shape_str(grid.shape)}"
        )
    if direction == "forward":
        p = torch.exp(log_p)
        # \mu = \int z p(z) dz, \sigma^2 = \int (z - \mu)^2 p(z) dz
        mean = torch.trapezoid(p * grid, grid)
        var = torch.trapezoid(p * (grid - mean) ** 2, grid)
        return float(mean), float(torch.log(var))
    if direction != "reverse":
        raise ValueError(f"direction must be 'forward' or 'reverse'; got {direction!r}")
    check_positive_int("steps", steps)
    params = torch.tensor(init, dtype=grid.dtype, requires_grad=True)
    opt = torch.optim.Adam([params], lr=lr)
    with validation(False):
        _fit_reverse(params, opt, log_p, grid, steps)
    return float(params[0].detach()), float(params[1].detach())


def _fit_reverse(params, opt, log_p, grid, steps) -> None:  # noqa: ANN001
    for _ in range(steps):
        opt.zero_grad()
        log_q = losses.log_normal_diag(grid.unsqueeze(-1), params[0:1], params[1:2])  # (N,)
        kl = kl_quadrature_1d(log_q, log_p, grid)
        kl.backward()
        opt.step()


# --------------------------------------------------------------------------------------------
# Chapter 3: the ELBO of a Gaussian q on the linear-Gaussian model
# --------------------------------------------------------------------------------------------


def expected_log_likelihood(
    model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    r"""Analytic :math:`\mathbb{E}_{q}[\log p(x \mid z)]` for a diagonal Gaussian :math:`q`.

    With :math:`z \sim \mathcal{N}(\mu, \operatorname{diag} s^2)` and
    :math:`x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)`,

    .. math::
        \mathbb{E}_q[\log p(x \mid z)] = -\frac D2 \log(2\pi\sigma^2)
        - \frac{1}{2\sigma^2}\Big(\lVert x - W\mu - b\rVert^2
        + \sum_{j} s_j^2 \lVert W_{:,j}\rVert^2\Big)

    since :math:`\mathbb{E}\lVert x - Wz - b\rVert^2 = \lVert x - W\mu - b\rVert^2
    + \operatorname{tr}(W \operatorname{diag}(s^2) W^\top)`.

    Args:
        model: The linear-Gaussian model.
        x: Data points.
        mu, logvar: Parameters of :math:`q(z \mid x)`, one row per data point.

    Shape:
        - x: :math:`(*, D)`; mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        The expected log-likelihood in nats per example.

    Raises:
        TypeError: If ``model`` is not a LinearGaussian or an input not a float tensor.
        ValueError: If shapes do not match.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    _check_q(model, x, mu, logvar)
    w, b, var = model.weight, model.bias, model.noise_var
    resid = x - mu @ w.T - b  # (*, D)
    # tr(W diag(s^2) W^T) = \sum_j s_j^2 ||W_{:,j}||^2
    trace = (torch.exp(logvar) * (w**2).sum(0)).sum(-1)
    # -D/2 \log(2\pi\sigma^2) - (||x - W\mu - b||^2 + tr) / (2\sigma^2)
    return (
        -0.5 * model.data_dim * (_LOG_2PI + torch.log(var))
        - 0.5 * ((resid**2).sum(-1) + trace) / var
    )


def expected_log_joint(
    model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    r"""Analytic :math:`\mathbb{E}_q[\log p(x, z)]` for a diagonal Gaussian :math:`q`.

    .. math::
        \mathbb{E}_q[\log p(x, z)] = \mathbb{E}_q[\log p(x \mid z)] + \mathbb{E}_q[\log p(z)]

    .. math::
        \mathbb{E}_q[\log p(z)] = -\frac L2 \log 2\pi - \frac12 \sum_j (\mu_j^2 + s_j^2)

    Shape:
        - x: :math:`(*, D)`; mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        The expected log joint in nats per example.

    Raises:
        TypeError, ValueError: As :func:`expected_log_likelihood`.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    # E_q[\log p(z)] = -L/2 \log 2\pi - 1/2 \sum_j (\mu_j^2 + s_j^2)
    log_prior = -0.5 * (_LOG_2PI + mu**2 + torch.exp(logvar)).sum(-1)
    return expected_log_likelihood(model, x, mu, logvar) + log_prior


def linear_gaussian_elbo(
    model: LinearGaussian,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    form: str = "recon_kl",
    n_samples: int | None = None,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    reduction: str = "none",
) -> torch.Tensor:
    r"""The ELBO of a diagonal Gaussian :math:`q` on a linear-Gaussian model, in either form.

    .. math::
        \mathcal{L}(q)
        = \underbrace{\mathbb{E}_q[\log p(x, z)] + H(q)}_{\texttt{joint\_entropy}}
        = \underbrace{\mathbb{E}_q[\log p(x \mid z)] - \mathrm{KL}(q \| p(z))}_{\texttt{recon\_kl}}

    with :math:`q = \mathcal{N}(\mu, \operatorname{diag} e^{\text{logvar}})`.

    With ``n_samples=None`` every expectation is analytic (:func:`expected_log_joint`,
    :func:`entropy_normal_diag`, :func:`expected_log_likelihood`,
    :func:`~vae_tutorial.losses.kl_normal_std_normal`) and the two forms agree to rounding.
    With ``n_samples=K`` the expectation is a reparameterized Monte Carlo average:
    ``"joint_entropy"`` averages :math:`\log p(x, z_k) - \log q(z_k)` (all terms sampled),
    ``"recon_kl"`` averages :math:`\log p(x \mid z_k)` and keeps the KL analytic, as in Kingma &
    Welling (2014), eq. 10. Both are unbiased for the same value and differentiable in ``mu``,
    ``logvar`` and the model's parameters.

    Args:
        model: The linear-Gaussian model (:math:`\theta`).
        x: Data points.
        mu, logvar: Parameters of :math:`q(z \mid x)` (:math:`\phi`), one row per data point.
        form: ``"recon_kl"`` (default) or ``"joint_entropy"``.
        n_samples: ``None`` for the analytic value, else K Monte Carlo samples.
        eps: Standard normal noise ``(K, *mu.shape)`` for the Monte Carlo version.
        generator: Optional ``torch.Generator`` for the Monte Carlo version.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - x: :math:`(*, D)`; mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        The ELBO in nats per example, :math:`\le \log p(x)`.

    Raises:
        TypeError: If ``model`` is not a LinearGaussian or an input not a float tensor.
        ValueError: If shapes do not match or ``form``/``reduction`` is unknown.

    References:
        Oala (2018), eqs. 7 and 11, with appendix B; the lecture notes "Variational
        Autoencoder" (2020) (":math:`\sum_z q \log p + H(q)`");
        Kingma & Welling (2014), eqs. 3 and 10.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    check_reduction(reduction)
    if form not in ("recon_kl", "joint_entropy"):
        raise ValueError(f"form must be 'recon_kl' or 'joint_entropy'; got {form!r}")
    _check_q(model, x, mu, logvar)
    if n_samples is None and eps is None:
        if form == "joint_entropy":
            # E_q[\log p(x, z)] + H(q)
            value = expected_log_joint(model, x, mu, logvar) + entropy_normal_diag(logvar)
        else:
            # E_q[\log p(x|z)] - KL(q || p(z))
            value = expected_log_likelihood(model, x, mu, logvar) - losses.kl_normal_std_normal(
                mu, logvar, reduction="none"
            )
        return reduce(value, reduction)
    k = n_samples if n_samples is not None else eps.shape[0]
    z = reparameterize(mu, logvar, eps, k, generator=generator)  # (K, *, L)
    if form == "joint_entropy":
        # \frac1K \sum_k [\log p(x, z_k) - \log q(z_k)]
        value = (model.log_joint(x, z) - losses.log_normal_diag(z, mu, logvar)).mean(0)
    else:
        # \frac1K \sum_k \log p(x|z_k) - KL(q || p(z))
        value = model.log_likelihood(x, z).mean(0) - losses.kl_normal_std_normal(
            mu, logvar, reduction="none"
        )
    return reduce(value, reduction)


def kl_to_posterior(
    model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    r"""Exact :math:`\mathrm{KL}(q \,\|\, p(z \mid x))` against the full-covariance posterior.

    With :math:`q = \mathcal{N}(\mu, S)`, :math:`S = \operatorname{diag} e^{\text{logvar}}`, and
    :math:`p(z \mid x) = \mathcal{N}(m, \Sigma)`
    (:meth:`~vae_tutorial.models.LinearGaussian.posterior`):

    .. math::
        \mathrm{KL} = \frac12\Big[\operatorname{tr}(\Sigma^{-1} S)
        + (m - \mu)^\top \Sigma^{-1}(m - \mu)
        - L + \log\det\Sigma - \log\det S\Big]

    This is the gap of the ELBO:
    :math:`\log p(x) = \mathcal{L}(q) + \mathrm{KL}(q \,\|\, p(z \mid x))`.

    Shape:
        - x: :math:`(*, D)`; mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        The KL divergence in nats per example, computed without the evidence.

    Raises:
        TypeError, ValueError: As :func:`expected_log_likelihood`.

    References:
        Bishop (2006), eq. 2.116 (posterior); the Gaussian KL, e.g. Kingma & Welling (2014), app. B.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    _check_q(model, x, mu, logvar)
    m, cov = model.posterior(x)
    eye = torch.eye(model.latent_dim, dtype=cov.dtype, device=cov.device)
    # \Sigma^{-1} = I + W^T W / \sigma^2
    prec = eye + model.weight.T @ model.weight / model.noise_var
    diff = m - mu  # (*, L)
    # tr(\Sigma^{-1} S) = \sum_j (\Sigma^{-1})_{jj} s_j^2
    trace = (torch.diagonal(prec) * torch.exp(logvar)).sum(-1)
    # (m - \mu)^T \Sigma^{-1} (m - \mu)
    maha = ((diff @ prec) * diff).sum(-1)
    # \log\det\Sigma = -\log\det\Sigma^{-1}
    logdet_cov = -torch.linalg.slogdet(prec)[1]
    return 0.5 * (trace + maha - model.latent_dim + logdet_cov - logvar.sum(-1))


def optimal_diagonal_q(model: LinearGaussian, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The diagonal Gaussian that maximizes the ELBO, i.e. minimizes the KL to the posterior.

    For a Gaussian posterior :math:`\mathcal{N}(m, \Sigma)` the reverse-KL optimum over diagonal
    Gaussians has mean :math:`m` and variances :math:`1/(\Sigma^{-1})_{jj}` (Bishop 2006,
    section 10.1.2): it matches the posterior's conditional, not marginal, variances and is too
    narrow when :math:`\Sigma` has correlations. Its KL is the *approximation gap*.

    Shape:
        - x: :math:`(*, D)`.
        - Output: ``mu`` :math:`(*, L)` and ``logvar`` :math:`(*, L)`.

    Returns:
        ``(mu, logvar)``.

    Raises:
        TypeError: If ``model`` is not a LinearGaussian.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    m, _ = model.posterior(x)
    eye = torch.eye(model.latent_dim, dtype=m.dtype, device=m.device)
    # (\Sigma^{-1})_{jj} = 1 + ||W_{:,j}||^2 / \sigma^2
    prec_diag = torch.diagonal(eye + model.weight.T @ model.weight / model.noise_var)
    # \log s_j^2 = -\log (\Sigma^{-1})_{jj}
    return m, (-torch.log(prec_diag)).expand_as(m).clone()


@dataclass
class FitResult:
    """What a fitting routine returns.

    Attributes:
        mu, logvar: The fitted :math:`q` for the training points, ``(B, L)`` each (detached).
        history: Analytic mean ELBO (nats per example) after every ``record_every`` steps.
        steps: The step numbers of ``history``.
        encoder: The fitted :class:`LinearEncoder` (amortized fits only).
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    history: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    encoder: nn.Module | None = None


def _mc_elbo_mean(model, x, mu, logvar, n_samples, generator):  # noqa: ANN001, ANN202
    return linear_gaussian_elbo(
        model, x, mu, logvar, n_samples=n_samples, generator=generator, reduction="mean"
    )


def fit_per_datapoint(
    model: LinearGaussian,
    x: torch.Tensor,
    *,
    steps: int = 1000,
    lr: float = 0.05,
    n_samples: int = 1,
    record_every: int = 50,
    generator: torch.Generator | None = None,
) -> FitResult:
    r"""Stochastic variational inference: separate parameters :math:`\phi_i` for every data point.

    Here :math:`\phi_i = (\mu_i, \log s_i^2)`.

    .. math::
        \phi_i^* = \arg\max_{\phi_i} \mathcal{L}(x_i; \theta, \phi_i), \qquad i = 1, \dots, B

    maximized by Adam (learning rate annealed to 0 on a cosine schedule) on the reparameterized
    Monte Carlo ELBO (``n_samples`` draws per step), with :math:`\theta` fixed. The objective is
    a sum of independent terms, so optimizing all :math:`\phi_i` at once is the same as
    optimizing each on its own. A new data point needs a new optimization.

    Args:
        model: The linear-Gaussian model; its parameters are not changed.
        x: Data points.
        steps: Adam steps.
        lr: Adam learning rate.
        n_samples: Monte Carlo samples per step.
        record_every: Record the analytic mean ELBO every this many steps.
        generator: ``torch.Generator`` for the noise.

    Shape:
        - x: :math:`(B, D)`.

    Returns:
        A :class:`FitResult` with ``mu``, ``logvar`` :math:`(B, L)`.

    References:
        The lecture notes "Variational Autoencoder" (2020), "Using SGD for learning", steps
        3.1-3.2; Hoffman et al. (2013).

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    check_tensor("x", x, min_dim=2)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    shape = (*x.shape[:-1], model.latent_dim)
    mu = torch.zeros(shape, dtype=x.dtype, requires_grad=True)
    logvar = torch.zeros(shape, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    result = FitResult(mu=mu, logvar=logvar)
    with validation(False):
        _svi_loop(
            model, x, mu, logvar, (opt, sched), result, steps, n_samples, record_every, generator
        )
    model.zero_grad(set_to_none=True)
    result.mu, result.logvar = mu.detach(), logvar.detach()
    return result


def _svi_loop(
    model, x, mu, logvar, opts, result, steps, n_samples, record_every, generator
) -> None:  # noqa: ANN001
    opt, sched = opts
    for step in range(1, steps + 1):
        opt.zero_grad()
        # maximize the ELBO = minimize its negative; the model's gradients are not used
        (-_mc_elbo_mean(model, x, mu, logvar, n_samples, generator)).backward()
        opt.step()
        sched.step()
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                result.history.append(
                    float(linear_gaussian_elbo(model, x, mu, logvar, reduction="mean"))
                )
                result.steps.append(step)


class LinearEncoder(nn.Module):
    r"""An amortized Gaussian encoder, linear in x.

    :math:`\mu = A x + c` and :math:`\log s^2 = G x + g`.

    On the linear-Gaussian model the best diagonal :math:`q` has a mean linear in :math:`x` and a
    constant variance (:func:`optimal_diagonal_q`), so this family contains it.

    Args:
        data_dim: D.
        latent_dim: L.
        dtype: Parameter dtype.

    Shape:
        - x: :math:`(B, D)`; output ``mu``, ``logvar``: :math:`(B, L)`.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """

    def __init__(self, data_dim: int, latent_dim: int, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        check_positive_int("data_dim", data_dim)
        check_positive_int("latent_dim", latent_dim)
        self.mean = nn.Linear(data_dim, latent_dim, dtype=dtype)
        self.log_variance = nn.Linear(data_dim, latent_dim, dtype=dtype)
        for layer in (self.mean, self.log_variance):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of :math:`q_\\phi(z \\mid x)`."""
        # \mu = A x + c ; \log s^2 = G x + g
        return self.mean(x), self.log_variance(x)


def fit_amortized(
    model: LinearGaussian,
    x: torch.Tensor,
    *,
    steps: int = 1000,
    lr: float = 0.05,
    n_samples: int = 1,
    batch_size: int | None = None,
    record_every: int = 50,
    generator: torch.Generator | None = None,
) -> FitResult:
    r"""Amortized inference: one :class:`LinearEncoder` :math:`\phi` shared by every data point.

    .. math::
        \phi^* = \arg\max_\phi \frac1B \sum_{i=1}^B
        \mathcal{L}\big(x_i; \theta, q_\phi(z \mid x_i)\big)

    maximized by Adam (learning rate annealed to 0 on a cosine schedule) on the reparameterized
    Monte Carlo ELBO over minibatches of
    ``batch_size`` points (all points if ``None``), with :math:`\theta` fixed. A new data point
    costs one forward pass.

    Args:
        model: The linear-Gaussian model; its parameters are not changed.
        x: Training data points.
        steps: Adam steps.
        lr: Adam learning rate.
        n_samples: Monte Carlo samples per step.
        batch_size: Minibatch size.
        record_every: Record the analytic mean ELBO on all of ``x`` every this many steps.
        generator: ``torch.Generator`` for the noise and the minibatches.

    Shape:
        - x: :math:`(B, D)`.

    Returns:
        A :class:`FitResult` with the ``encoder`` and its ``mu``, ``logvar`` on ``x``.

    References:
        Kingma & Welling (2014), section 2.1 (the recognition model); Cremer et al. (2018).

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    check_tensor("x", x, min_dim=2)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    encoder = LinearEncoder(model.data_dim, model.latent_dim, dtype=x.dtype)
    opt = torch.optim.Adam(encoder.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    result = FitResult(mu=x, logvar=x, encoder=encoder)
    with validation(False):
        _amortized_loop(
            model,
            x,
            encoder,
            (opt, sched),
            result,
            steps,
            n_samples,
            batch_size,
            record_every,
            generator,
        )
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        result.mu, result.logvar = encoder(x)
    return result


def _amortized_loop(
    model, x, encoder, opts, result, steps, n_samples, batch_size, record_every, generator
) -> None:  # noqa: ANN001, E501
    opt, sched = opts
    n = x.shape[0]
    for step in range(1, steps + 1):
        if batch_size is None or batch_size >= n:
            xb = x
        else:
            xb = x[torch.randperm(n, generator=generator)[:batch_size]]
        opt.zero_grad()
        mu, logvar = encoder(xb)
        (-_mc_elbo_mean(model, xb, mu, logvar, n_samples, generator)).backward()
        opt.step()
        sched.step()
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                result.history.append(
                    float(linear_gaussian_elbo(model, x, *encoder(x), reduction="mean"))
                )
                result.steps.append(step)


def variational_em(
    model: LinearGaussian,
    x: torch.Tensor,
    *,
    n_iters: int = 30,
    m_steps: int = 20,
    lr: float = 0.05,
    callback: Callable[[int, LinearGaussian], None] | None = None,
) -> dict[str, list[float]]:
    r"""Variational EM on the linear-Gaussian model: alternate maximization over phi and theta.

    * E step (variational inference, :math:`\theta` fixed):
      :math:`\phi \leftarrow \arg\max_\phi \mathcal{L}(\phi, \theta)`, in closed form by
      :func:`optimal_diagonal_q`.
    * M step (variational EM proper, :math:`\phi` fixed): ``m_steps`` Adam steps on
      :math:`\theta = (W, b, \log\sigma)` of the analytic mean ELBO.

    Neither step can lower the ELBO (up to the step size of Adam), and the ELBO stays below the
    exact :math:`\log p_\theta(x)`, which the history records beside it.

    Args:
        model: The model to fit; its parameters are updated in place.
        x: Data points.
        n_iters: E/M rounds.
        m_steps: Adam steps per M step.
        lr: Adam learning rate.
        callback: Called as ``callback(iteration, model)`` after each round.

    Shape:
        - x: :math:`(B, D)`.

    Returns:
        ``{"elbo": [...], "log_evidence": [...]}``: mean nats per example after each round
        (index 0 is before the first round).

    References:
        Oala, "Concept Notes: The Variational Auto-Encoder" (2018), section 3.6; Bishop
        (2006), section 9.4; Blei et al. (2017), section 4.

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    _check_lg(model)
    check_tensor("x", x, min_dim=2)
    check_positive_int("n_iters", n_iters)
    check_positive_int("m_steps", m_steps)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"elbo": [], "log_evidence": []}

    def record() -> None:
        with torch.no_grad():
            mu, logvar = optimal_diagonal_q(model, x)
            history["elbo"].append(
                float(linear_gaussian_elbo(model, x, mu, logvar, reduction="mean"))
            )
            history["log_evidence"].append(float(model.log_evidence(x).mean()))

    record()
    for it in range(1, n_iters + 1):
        with torch.no_grad():
            # E step: \phi = \arg\max_\phi ELBO(\phi, \theta)
            mu, logvar = optimal_diagonal_q(model, x)
        with validation(False):
            for _ in range(m_steps):
                opt.zero_grad()
                # M step: \theta \leftarrow \theta + \eta \nabla_\theta ELBO(\phi, \theta)
                (-linear_gaussian_elbo(model, x, mu, logvar, reduction="mean")).backward()
                opt.step()
        record()
        if callback is not None:
            callback(it, model)
    return history
