r"""A mixture of Gaussians: the shallow latent variable model, with a discrete latent.

The evidence is a finite sum and the posterior exact; the deep latent variable model replaces the
M components by a continuum (the contrast of the chapter "Latent variable models and Bayes'
rule"). Shape letters: B batch, D data, M components.
"""

from __future__ import annotations

import torch
from torch import nn

from vae_tutorial._checks import check_last_dim, check_positive_int, check_tensor, shape_str

__all__ = ["GaussianMixture"]


class GaussianMixture(nn.Module):
    r"""A mixture of Gaussians: the shallow latent variable model with a discrete latent.

    .. math::
        z \sim \operatorname{Categorical}(\pi_1, \dots, \pi_M), \qquad
        x \mid z = k \sim \mathcal{N}(\mu_k, \Sigma_k),

    so that the evidence is a finite sum and the posterior is exact (Bishop 2006, eqs. 9.7, 9.13):

    .. math::
        p(x) = \sum_{k=1}^M \pi_k\, \mathcal{N}(x; \mu_k, \Sigma_k), \qquad
        p(z = k \mid x) = \frac{\pi_k\, \mathcal{N}(x; \mu_k, \Sigma_k)}{p(x)}.

    The deep latent variable model replaces the M components by a continuum, one Gaussian per
    value of a continuous :math:`z`; this class is the contrast the book draws with it.

    Args:
        weights: Mixture weights :math:`\pi`, positive and summing to 1.
        means: Component means :math:`\mu_k`.
        covariances: Component covariances :math:`\Sigma_k`, symmetric positive definite.

    Shape:
        - weights: :math:`(M,)`; means: :math:`(M, D)`; covariances: :math:`(M, D, D)`.

    Raises:
        TypeError: If an argument is not a floating-point tensor.
        ValueError: If shapes disagree, weights are not a probability vector or a covariance is
            not positive definite.

    References:
        The lecture notes "Variational Autoencoder" (2020), "Shallow mixture models"; Bishop
        (2006), section 9.2.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """

    def __init__(
        self, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor
    ) -> None:
        super().__init__()
        check_tensor("weights", weights, min_dim=1)
        check_tensor("means", means, min_dim=2)
        check_tensor("covariances", covariances, min_dim=3)
        m, d = means.shape[0], means.shape[-1]
        if weights.shape != (m,) or means.dim() != 2 or covariances.shape != (m, d, d):
            raise ValueError(
                "weights must be (M,), means (M, D) and covariances (M, D, D); got weights "
                f"{shape_str(weights.shape)}, means {shape_str(means.shape)} and covariances "
                f"{shape_str(covariances.shape)}"
            )
        if bool((weights <= 0).any()) or abs(float(weights.sum()) - 1.0) > 1e-6:
            raise ValueError(
                f"weights must be positive and sum to 1; got {weights.tolist()} "
                f"(sum {float(weights.sum()):.6g})"
            )
        try:
            torch.linalg.cholesky(covariances)
        except RuntimeError as err:
            raise ValueError(
                "covariances must be symmetric positive definite (M, D, D) matrices; "
                "the Cholesky factorization failed"
            ) from err
        self.register_buffer("weights", weights.clone())
        self.register_buffer("means", means.clone())
        self.register_buffer("covariances", covariances.clone())

    @property
    def n_components(self) -> int:
        """M, the number of components."""
        return self.means.shape[0]

    @property
    def data_dim(self) -> int:
        """D."""
        return self.means.shape[1]

    def component_distribution(self) -> torch.distributions.MultivariateNormal:
        r"""The M components :math:`\mathcal{N}(\mu_k, \Sigma_k)` as one batched distribution."""
        return torch.distributions.MultivariateNormal(
            self.means, covariance_matrix=self.covariances
        )

    def log_joint(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x, z = k) = \log \pi_k + \log \mathcal{N}(x; \mu_k, \Sigma_k)` for
        every k.

        Args:
            x: Data points.

        Shape:
            - x: :math:`(*, D)`.
            - Output: :math:`(*, M)`, one column per value of :math:`z`.

        Returns:
            Log joint densities in nats.
        """
        check_last_dim("x", x, self.data_dim, "D")
        # \log p(x, z=k) = \log \pi_k + \log N(x; \mu_k, \Sigma_k)
        return torch.log(self.weights) + self.component_distribution().log_prob(x.unsqueeze(-2))

    def log_evidence(self, x: torch.Tensor) -> torch.Tensor:
        r"""Exact :math:`\log p(x) = \log \sum_k \pi_k \mathcal{N}(x; \mu_k, \Sigma_k)` in nats.

        Shape:
            - x: :math:`(*, D)`.
            - Output: :math:`(*)`.
        """
        # \log p(x) = \operatorname{logsumexp}_k \log p(x, z=k)
        return torch.logsumexp(self.log_joint(x), dim=-1)

    def posterior(self, x: torch.Tensor) -> torch.Tensor:
        r"""Exact posterior :math:`p(z = k \mid x)` by Bayes' rule (the "responsibilities").

        Shape:
            - x: :math:`(*, D)`.
            - Output: :math:`(*, M)`, rows summing to 1.
        """
        # p(z=k|x) = p(x, z=k) / p(x)
        return torch.softmax(self.log_joint(x), dim=-1)

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` pairs ``(x, z)``: pick a component, then sample from it.

        Shape:
            - Output: ``x`` :math:`(n, D)` and integer ``z`` :math:`(n,)`.
        """
        check_positive_int("n", n)
        # step 1: z ~ Categorical(\pi)
        z = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        # step 2: x = \mu_z + C_z \varepsilon with C_z C_z^T = \Sigma_z
        chol = torch.linalg.cholesky(self.covariances)[z]  # (n, D, D)
        eps = torch.randn(n, self.data_dim, 1, dtype=self.means.dtype, device=self.means.device,
                          generator=generator)
        x = self.means[z] + (chol @ eps).squeeze(-1)
        return x, z

