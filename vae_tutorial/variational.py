r"""Variational inference: fitting :math:`q`, per data point, amortized, and with the model.

* :func:`fit_per_datapoint`: stochastic variational inference, one :math:`\phi_i` per data point.
* :class:`LinearEncoder` and :func:`fit_amortized`: amortized inference, one encoder for all.
* :func:`variational_em`: variational EM, learning :math:`\theta` as well.
* :func:`fit_gaussian_1d`: the Gaussian closest to a 1-D density in forward or reverse KL.

The first three run on the linear-Gaussian model, whose ELBO, KL to the posterior and optimal
diagonal :math:`q` are exact (:meth:`~vae_tutorial.models.LinearGaussian.elbo`,
:meth:`~vae_tutorial.models.LinearGaussian.kl_to_posterior`,
:meth:`~vae_tutorial.models.LinearGaussian.optimal_diagonal_q`). Values are in nats per example.
The Gaussian :math:`q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag} e^{\text{logvar}})` is
always passed as ``mu``, ``logvar``.

References:
    - [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    - [BKM17] D. M. Blei, A. Kucukelbir and J. D. McAuliffe, "Variational Inference: A Review for
      Statisticians", JASA 2017.
    - [CLD18] C. Cremer, X. Li and D. Duvenaud, "Inference Suboptimality in Variational
      Autoencoders", ICML 2018.

Introduced in the chapter "Jensen's inequality and the ELBO" (:func:`fit_gaussian_1d` in "KL
divergence"; :class:`LinearEncoder` and :func:`fit_amortized` in "A VAE on real digits").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from vae_tutorial import losses
from vae_tutorial._checks import check_positive_int, check_tensor, shape_str, validation
from vae_tutorial.models import LinearGaussian
from vae_tutorial.quadrature import kl_quadrature_1d

__all__ = [
    "FitResult",
    "LinearEncoder",
    "fit_amortized",
    "fit_gaussian_1d",
    "fit_per_datapoint",
    "variational_em",
]


def _check_lg(model: object) -> None:
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a models.LinearGaussian; got {type(model).__name__}")


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
    return model.elbo(x, mu, logvar, n_samples=n_samples, generator=generator, reduction="mean")


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
                    float(model.elbo(x, mu, logvar, reduction="mean"))
                )
                result.steps.append(step)


class LinearEncoder(nn.Module):
    r"""An amortized Gaussian encoder, linear in x.

    :math:`\mu = A x + c` and :math:`\log \sigma^2 = V x + d` (``mean`` and ``log_variance``).

    On the linear-Gaussian model the best diagonal :math:`q` has a mean linear in :math:`x` and a
    constant variance (:meth:`~vae_tutorial.models.LinearGaussian.optimal_diagonal_q`), so this
    family contains it.

    Args:
        data_dim: D.
        latent_dim: L.
        dtype: Parameter dtype.

    Shape:
        - x: :math:`(B, D)`; output ``mu``, ``logvar``: :math:`(B, L)`.

    Introduced in the chapter "A VAE on real digits".
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
        # \mu = A x + c ; \log \sigma^2 = V x + d
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

    Introduced in the chapter "A VAE on real digits".
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
                    float(model.elbo(x, *encoder(x), reduction="mean"))
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
      :meth:`~vae_tutorial.models.LinearGaussian.optimal_diagonal_q`.
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
            mu, logvar = model.optimal_diagonal_q(x)
            history["elbo"].append(
                float(model.elbo(x, mu, logvar, reduction="mean"))
            )
            history["log_evidence"].append(float(model.log_evidence(x).mean()))

    record()
    for it in range(1, n_iters + 1):
        with torch.no_grad():
            # E step: \phi = \arg\max_\phi ELBO(\phi, \theta)
            mu, logvar = model.optimal_diagonal_q(x)
        with validation(False):
            for _ in range(m_steps):
                opt.zero_grad()
                # M step: \theta \leftarrow \theta + \eta \nabla_\theta ELBO(\phi, \theta)
                (-model.elbo(x, mu, logvar, reduction="mean")).backward()
                opt.step()
        record()
        if callback is not None:
            callback(it, model)
    return history


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
      inference uses, by Adam on :func:`~vae_tutorial.quadrature.kl_quadrature_1d` from
      ``init``: it seeks one mode.

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
