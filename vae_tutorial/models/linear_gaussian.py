r"""The linear-Gaussian latent variable model, solvable in closed form: the book's ground truth.

:math:`z \sim \mathcal{N}(0, I_L)`, :math:`x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)`: its
evidence and posterior are exact, and so are the ELBO of a diagonal Gaussian :math:`q` and its
KL to the posterior (methods of :class:`LinearGaussian`), the reference every bound and estimator
in the book is measured against.

Shape letters: K samples (dim 0), B batch, D data, L latent. Values are in nats per example.

References:
    - [TB99] M. E. Tipping and C. M. Bishop, "Probabilistic Principal Component Analysis",
      JRSS B 1999.
    - [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_last_dim,
    check_positive_int,
    check_positive_real,
    check_reduction,
    check_same_shape,
    check_seed,
    check_tensor,
    is_validation_enabled,
    reduce,
    shape_str,
)
from vae_tutorial.joint import entropy_normal_diag
from vae_tutorial.sampling import reparameterize

__all__ = ["LinearGaussian"]

_LOG_2PI = math.log(2.0 * math.pi)


class LinearGaussian(nn.Module):
    r"""The linear-Gaussian latent variable model (probabilistic PCA), solvable in closed form.

    .. math::
        z \sim \mathcal{N}(0, I_L), \qquad x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)

    so that (Tipping & Bishop 1999; Bishop 2006, eqs. 12.33-12.42)

    .. math::
        \begin{aligned}
        p(x) &= \mathcal{N}(x; b, WW^\top + \sigma^2 I_D), \\
        p(z \mid x) &= \mathcal{N}\big(\Sigma W^\top (x - b)/\sigma^2,\ \Sigma\big), \\
        \Sigma &= (I_L + W^\top W/\sigma^2)^{-1}.
        \end{aligned}

    The parameters are ``nn.Parameter`` so that :math:`\theta = (W, b, \log\sigma)` can be learned
    (variational EM). Computations run in the parameters' dtype; float64 (the default of
    :meth:`random`) keeps the book's identities accurate to 1e-10. Inputs ``x`` and ``z`` of
    another floating dtype are converted to it (float32 data on a float64 model is exact).

    Args:
        weight: :math:`W`, shape ``(D, L)``.
        bias: :math:`b`, shape ``(D,)``.
        noise_std: :math:`\sigma`, a finite real number > 0 (not a bool or a tensor).

    Raises:
        TypeError: If ``weight`` or ``bias`` is not a floating-point tensor or ``noise_std``
            not a real number.
        ValueError: If the shapes disagree or ``noise_std`` is not finite and positive.

    Examples:
        >>> import torch
        >>> from vae_tutorial.models import LinearGaussian
        >>> weight = torch.tensor([[2.0], [0.0]])  # W: (D, L) = (2, 1)
        >>> model = LinearGaussian(weight, torch.zeros(2), noise_std=1.0)
        >>> model.data_dim, model.latent_dim                       # D, L
        (2, 1)
        >>> x = torch.tensor([[1.0, 0.0]])
        >>> round(float(model.log_evidence(x).detach()), 4)  # log N(x; 0, W W^T + I)
        -2.7426

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, noise_std: float) -> None:
        super().__init__()
        check_tensor("weight", weight, min_dim=2)
        check_tensor("bias", bias, min_dim=1)
        if weight.dim() != 2 or bias.shape != weight.shape[:1]:
            raise ValueError(
                f"weight must be (D, L) and bias (D,); got weight {shape_str(weight.shape)} "
                f"and bias {shape_str(bias.shape)}"
            )
        check_positive_real("noise_std", noise_std)
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(bias.clone())
        self.log_noise_std = nn.Parameter(
            torch.tensor(math.log(noise_std), dtype=weight.dtype, device=weight.device)
        )

    @classmethod
    def random(
        cls,
        data_dim: int = 2,
        latent_dim: int = 1,
        noise_std: float = 0.5,
        *,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
    ) -> LinearGaussian:
        """A model with :math:`W` and :math:`b` drawn from a standard normal under ``seed``.

        Examples:
            >>> from vae_tutorial.models import LinearGaussian
            >>> model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
            >>> model.weight.shape, model.bias.shape, model.weight.dtype
            (torch.Size([3, 2]), torch.Size([3]), torch.float64)
        """
        check_positive_int("data_dim", data_dim)
        check_positive_int("latent_dim", latent_dim)
        check_seed("seed", seed)
        g = torch.Generator().manual_seed(seed)
        weight = torch.randn(data_dim, latent_dim, generator=g, dtype=dtype)
        bias = torch.randn(data_dim, generator=g, dtype=dtype)
        return cls(weight, bias, noise_std)

    @property
    def data_dim(self) -> int:
        """D."""
        return self.weight.shape[0]

    @property
    def latent_dim(self) -> int:
        """L."""
        return self.weight.shape[1]

    @property
    def noise_var(self) -> torch.Tensor:
        r""":math:`\sigma^2`."""
        return torch.exp(2.0 * self.log_noise_std)

    def evidence_distribution(self) -> torch.distributions.MultivariateNormal:
        r"""The exact marginal :math:`p(x) = \mathcal{N}(b, WW^\top + \sigma^2 I)`."""
        eye = torch.eye(self.data_dim, dtype=self.weight.dtype, device=self.weight.device)
        # C = W W^T + \sigma^2 I
        cov = self.weight @ self.weight.T + self.noise_var * eye
        return torch.distributions.MultivariateNormal(self.bias, covariance_matrix=cov)

    def log_evidence(self, x: torch.Tensor) -> torch.Tensor:
        r"""Exact :math:`\log p(x)` in nats per example.

        Shape:
            - x: :math:`(*, D)`.
            - Output: :math:`(*)`.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import LinearGaussian
            >>> weight = torch.tensor([[2.0], [0.0]])  # W: (D, L) = (2, 1)
            >>> model = LinearGaussian(weight, torch.zeros(2), noise_std=1.0)
            >>> x = torch.tensor([[1.0, 0.0]])
            >>> round(float(model.log_evidence(x).detach()), 4)  # log N(x; 0, W W^T + I)
            -2.7426
        """
        check_last_dim("x", x, self.data_dim, "D")
        x = x.to(self.weight.dtype)  # computations run in the parameters' dtype
        return self.evidence_distribution().log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Exact posterior :math:`p(z \mid x) = \mathcal{N}(m, \Sigma)`.

        Shape:
            - x: :math:`(*, D)`.
            - Output: mean :math:`(*, L)` and covariance :math:`(L, L)` (the same for every x).

        Returns:
            ``(mean, cov)``. The covariance is full in general; it is diagonal when the columns of
            :math:`W` are orthogonal.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import LinearGaussian
            >>> weight = torch.tensor([[2.0], [0.0]])  # W: (D, L) = (2, 1)
            >>> model = LinearGaussian(weight, torch.zeros(2), noise_std=1.0)
            >>> with torch.no_grad():
            ...     mean, cov = model.posterior(torch.tensor([[1.0, 0.0]]))
            >>> # Sigma = 1/(1 + 4), m = 2 Sigma
            >>> round(float(mean), 4), round(float(cov), 4)
            (0.4, 0.2)
        """
        check_last_dim("x", x, self.data_dim, "D")
        x = x.to(self.weight.dtype)  # computations run in the parameters' dtype
        eye = torch.eye(self.latent_dim, dtype=self.weight.dtype, device=self.weight.device)
        # \Sigma = (I + W^T W / \sigma^2)^{-1}
        cov = torch.linalg.inv(eye + self.weight.T @ self.weight / self.noise_var)
        # m = \Sigma W^T (x - b) / \sigma^2
        mean = (x - self.bias) @ self.weight @ cov.T / self.noise_var
        return mean, cov

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x \mid z) = \log \mathcal{N}(x; Wz + b, \sigma^2 I)`.

        Shape:
            - x: :math:`(*, D)`; z: :math:`(*, L)`, broadcastable batch dims, e.g. ``(K, B, L)``
              against ``(B, D)``.
            - Output: the broadcast batch shape.
        """
        check_last_dim("x", x, self.data_dim, "D")
        check_last_dim("z", z, self.latent_dim, "L")
        # computations run in the parameters' dtype
        x, z = x.to(self.weight.dtype), z.to(self.weight.dtype)
        mean = z @ self.weight.T + self.bias
        logvar = (2.0 * self.log_noise_std).expand(mean.shape)
        return losses.log_normal_diag(x, mean, logvar)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x, z) = \log p(x \mid z) + \log p(z)` in nats.

        Shape: as :meth:`log_likelihood`.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import LinearGaussian
            >>> model = LinearGaussian.random(data_dim=2, latent_dim=1, seed=0)
            >>> x = torch.zeros(3, 2, dtype=torch.float64)             # (B, D)
            >>> z = torch.zeros(7, 3, 1, dtype=torch.float64)          # (K, B, L)
            >>> model.log_joint(x, z).shape                            # (K, B)
            torch.Size([7, 3])
        """
        # \log p(x, z) = \log p(x|z) + \log p(z)
        return self.log_likelihood(x, z) + losses.log_standard_normal(z.to(self.weight.dtype))

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` pairs ``(x, z)`` from the joint; shapes ``(n, D)`` and ``(n, L)``.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import LinearGaussian
            >>> model = LinearGaussian.random(data_dim=2, latent_dim=1, seed=0)
            >>> x, z = model.sample(4, generator=torch.Generator().manual_seed(0))
            >>> x.shape, z.shape                                       # (n, D), (n, L)
            (torch.Size([4, 2]), torch.Size([4, 1]))
        """
        check_positive_int("n", n)
        kw = dict(dtype=self.weight.dtype, device=self.weight.device, generator=generator)
        z = torch.randn(n, self.latent_dim, **kw)
        noise = self.noise_var.sqrt() * torch.randn(n, self.data_dim, **kw)
        x = z @ self.weight.T + self.bias + noise
        return x, z

    def expected_log_likelihood(
        self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
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
            x: Data points.
            mu, logvar: Parameters of :math:`q(z \mid x)`, one row per data point.

        Shape:
            - x: :math:`(*, D)`; mu, logvar: :math:`(*, L)`.
            - Output: :math:`(*)`.

        Returns:
            The expected log-likelihood in nats per example.

        Raises:
            TypeError: If an input is not a floating-point tensor.
            ValueError: If shapes do not match.

        Introduced in the chapter "Jensen's inequality and the ELBO".
        """
        self._check_q(x, mu, logvar)
        w, b, var = self.weight, self.bias, self.noise_var
        resid = x - mu @ w.T - b  # (*, D)
        # tr(W diag(s^2) W^T) = \sum_j s_j^2 ||W_{:,j}||^2
        trace = (torch.exp(logvar) * (w**2).sum(0)).sum(-1)
        # -D/2 \log(2\pi\sigma^2) - (||x - W\mu - b||^2 + tr) / (2\sigma^2)
        return (
            -0.5 * self.data_dim * (_LOG_2PI + torch.log(var))
            - 0.5 * ((resid**2).sum(-1) + trace) / var
        )

    def expected_log_joint(
        self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
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
            TypeError, ValueError: As :meth:`expected_log_likelihood`.

        Introduced in the chapter "Jensen's inequality and the ELBO".
        """
        # E_q[\log p(z)] = -L/2 \log 2\pi - 1/2 \sum_j (\mu_j^2 + s_j^2)
        log_prior = -0.5 * (_LOG_2PI + mu**2 + torch.exp(logvar)).sum(-1)
        return self.expected_log_likelihood(x, mu, logvar) + log_prior

    def elbo(
        self,
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
            = \underbrace{\mathbb{E}_q[\log p(x \mid z)]
            - \mathrm{KL}(q \| p(z))}_{\texttt{recon\_kl}}

        with :math:`q = \mathcal{N}(\mu, \operatorname{diag} e^{\text{logvar}})`.

        With ``n_samples=None`` every expectation is analytic (:meth:`expected_log_joint`,
        :func:`~vae_tutorial.joint.entropy_normal_diag`, :meth:`expected_log_likelihood`,
        :func:`~vae_tutorial.losses.kl_normal_std_normal`) and the two forms agree to rounding.
        With ``n_samples=K`` the expectation is a reparameterized Monte Carlo average:
        ``"joint_entropy"`` averages :math:`\log p(x, z_k) - \log q(z_k)` (all terms sampled),
        ``"recon_kl"`` averages :math:`\log p(x \mid z_k)` and keeps the KL analytic, as in Kingma &
        Welling (2014), eq. 10. Both are unbiased for the same value and differentiable in ``mu``,
        ``logvar`` and the model's parameters.

        Args:
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
            TypeError: If an input is not a floating-point tensor.
            ValueError: If shapes do not match or ``form``/``reduction`` is unknown.

        References:
            Oala (2018), eqs. 7 and 11, with appendix B; the lecture notes "Variational
            Autoencoder" (2020) (":math:`\sum_z q \log p + H(q)`");
            Kingma & Welling (2014), eqs. 3 and 10.

        Introduced in the chapter "Jensen's inequality and the ELBO".
        """
        check_reduction(reduction)
        if form not in ("recon_kl", "joint_entropy"):
            raise ValueError(f"form must be 'recon_kl' or 'joint_entropy'; got {form!r}")
        self._check_q(x, mu, logvar)
        if n_samples is None and eps is None:
            if form == "joint_entropy":
                # E_q[\log p(x, z)] + H(q)
                value = self.expected_log_joint(x, mu, logvar) + entropy_normal_diag(logvar)
            else:
                # E_q[\log p(x|z)] - KL(q || p(z))
                value = self.expected_log_likelihood(x, mu, logvar) - losses.kl_normal_std_normal(
                    mu, logvar, reduction="none"
                )
            return reduce(value, reduction)
        k = n_samples if n_samples is not None else eps.shape[0]
        z = reparameterize(mu, logvar, eps, k, generator=generator)  # (K, *, L)
        if form == "joint_entropy":
            # \frac1K \sum_k [\log p(x, z_k) - \log q(z_k)]
            value = (self.log_joint(x, z) - losses.log_normal_diag(z, mu, logvar)).mean(0)
        else:
            # \frac1K \sum_k \log p(x|z_k) - KL(q || p(z))
            value = self.log_likelihood(x, z).mean(0) - losses.kl_normal_std_normal(
                mu, logvar, reduction="none"
            )
        return reduce(value, reduction)

    def kl_to_posterior(
        self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
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
            TypeError, ValueError: As :meth:`expected_log_likelihood`.

        References:
            Bishop (2006), eq. 2.116 (posterior); the Gaussian KL, e.g. Kingma & Welling (2014),
            app. B.

        Introduced in the chapter "Jensen's inequality and the ELBO".
        """
        self._check_q(x, mu, logvar)
        m, cov = self.posterior(x)
        eye = torch.eye(self.latent_dim, dtype=cov.dtype, device=cov.device)
        # \Sigma^{-1} = I + W^T W / \sigma^2
        prec = eye + self.weight.T @ self.weight / self.noise_var
        diff = m - mu  # (*, L)
        # tr(\Sigma^{-1} S) = \sum_j (\Sigma^{-1})_{jj} s_j^2
        trace = (torch.diagonal(prec) * torch.exp(logvar)).sum(-1)
        # (m - \mu)^T \Sigma^{-1} (m - \mu)
        maha = ((diff @ prec) * diff).sum(-1)
        # \log\det\Sigma = -\log\det\Sigma^{-1}
        logdet_cov = -torch.linalg.slogdet(prec)[1]
        return 0.5 * (trace + maha - self.latent_dim + logdet_cov - logvar.sum(-1))

    def optimal_diagonal_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
        m, _ = self.posterior(x)
        eye = torch.eye(self.latent_dim, dtype=m.dtype, device=m.device)
        # (\Sigma^{-1})_{jj} = 1 + ||W_{:,j}||^2 / \sigma^2
        prec_diag = torch.diagonal(eye + self.weight.T @ self.weight / self.noise_var)
        # \log s_j^2 = -\log (\Sigma^{-1})_{jj}
        return m, (-torch.log(prec_diag)).expand_as(m).clone()

    def _check_q(self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
        """Check x and the parameters of a diagonal Gaussian q(z | x) against the self."""
        if not is_validation_enabled():
            return
        check_tensor("x", x, min_dim=1)
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
        if x.shape[-1] != self.data_dim:
            raise ValueError(
                f"x must have last dim D={self.data_dim}; got shape {shape_str(x.shape)}"
            )
        if mu.shape[-1] != self.latent_dim:
            raise ValueError(
                f"mu must have last dim L={self.latent_dim}; got shape {shape_str(mu.shape)}"
            )
        if mu.shape[:-1] != x.shape[:-1]:
            raise ValueError(
                f"mu must have the batch shape of x {shape_str(x.shape[:-1])}; "
                f"got {shape_str(mu.shape[:-1])}"
            )
