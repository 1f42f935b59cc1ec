r"""Latent variable models: the VAE, the exactly solvable linear-Gaussian model and a mixture.

* :class:`VAE`: MLP encoder :math:`q_\phi(z \mid x)` and Bernoulli (or Gaussian) MLP decoder
  :math:`p_\theta(x \mid z)` with a standard normal prior (Kingma & Welling 2014, appendix C).
* :class:`GaussianMixture`: a discrete latent picks one of M Gaussians; exact evidence and
  posterior.
* :class:`LinearGaussian`: :math:`z \sim \mathcal{N}(0, I_L)`,
  :math:`x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)`, whose evidence and posterior are exact:
  the ground truth every bound in the book is measured against.

Shape letters: K samples (dim 0), B batch, D data, L latent.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_positive_int,
    check_positive_real,
    check_real,
    check_seed,
    check_tensor,
    is_validation_enabled,
    shape_str,
)
from vae_tutorial.sampling import reparameterize

__all__ = ["GaussianMixture", "LinearGaussian", "VAE"]


def _check_last_dim(
    name: str, value: torch.Tensor, size: int, what: str, dtype: torch.dtype | None = None
) -> None:
    if is_validation_enabled():
        check_tensor(name, value, min_dim=1)
        if value.shape[-1] != size:
            raise ValueError(
                f"{name} must have last dim {what}={size}; got shape {shape_str(value.shape)}"
            )
        if dtype is not None and value.dtype != dtype:
            raise TypeError(
                f"{name} must have the model's dtype {dtype}; got {value.dtype} "
                f"(convert with {name}.to({dtype}) or the model with model.to({value.dtype}))"
            )


class VAE(nn.Module):
    r"""A variational autoencoder with MLP encoder and Bernoulli MLP decoder.

    Encoder: :math:`x \to h = a(W_1 x + b_1) \to (\mu, \log\sigma^2)`; decoder:
    :math:`z \to a(W_3 z + b_3) \to` logits of :math:`p_\theta(x \mid z)`. One hidden layer each,
    as in Kingma & Welling (2014), appendix C, with ReLU by default (a common modern choice).

    Args:
        data_dim: D, pixels per image (784 for 28x28 MNIST, 64 for 8x8 digits).
        hidden_dim: Width of the hidden layer of encoder and decoder.
        latent_dim: L, dimension of :math:`z`.
        activation: ``"relu"`` (default) or ``"tanh"`` (as in the paper).
        likelihood: ``"bernoulli"`` (default; ``decode`` returns logits) or ``"gaussian"``
            (``decode`` returns the means of :math:`\mathcal{N}(x; \mu_\theta(z), \sigma^2 I)`,
            one variance shared by all pixels; chapter "VAEs in practice").
        decoder_logvar: Gaussian only: :math:`\log\sigma^2`, a fixed real number, or
            ``"learned"`` (default; a parameter starting at 0, the :math:`\sigma`-VAE of
            Rybkin et al. 2021). Stored as the 0-dim tensor ``self.decoder_logvar`` (``None``
            for a Bernoulli decoder).

    Shape:
        - x: :math:`(B, D)` with values in [0, 1].
        - mu, logvar: :math:`(B, L)`.
        - logits: :math:`(B, D)`, or :math:`(K, B, D)` when decoding ``(K, B, L)``.

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> from vae_tutorial.models import VAE
        >>> _ = torch.manual_seed(0)
        >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)   # for 8x8 digits
        >>> x = torch.rand(5, 64).round()  # (B, D) binary images
        >>> logits, mu, logvar = model(x)                          # one z per image
        >>> logits.shape, mu.shape
        (torch.Size([5, 64]), torch.Size([5, 2]))
        >>> bound = losses.elbo(x, logits, mu, logvar)             # nats per image
        >>> bool(bound < 0)
        True

    Introduced in the chapter "A VAE on real digits".
    """

    def __init__(
        self,
        data_dim: int = 784,
        hidden_dim: int = 400,
        latent_dim: int = 20,
        activation: str = "relu",
        likelihood: str = "bernoulli",
        decoder_logvar: float | str | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("data_dim", data_dim),
            ("hidden_dim", hidden_dim),
            ("latent_dim", latent_dim),
        ):
            check_positive_int(name, value)
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh'; got {activation!r}")
        act = nn.ReLU if activation == "relu" else nn.Tanh
        self.likelihood = _check_likelihood(likelihood, decoder_logvar)
        self.data_dim, self.hidden_dim, self.latent_dim = data_dim, hidden_dim, latent_dim
        self.encoder = nn.Sequential(nn.Linear(data_dim, hidden_dim), act())
        # one linear layer gives both heads: (B, H) -> (B, 2L), split into mu and logvar
        self.encoder_head = nn.Linear(hidden_dim, 2 * latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), act(), nn.Linear(hidden_dim, data_dim)
        )
        if likelihood == "bernoulli":
            self.register_buffer("decoder_logvar", None)
        elif decoder_logvar is None or decoder_logvar == "learned":
            self.decoder_logvar = nn.Parameter(torch.zeros(()))
        else:
            self.register_buffer("decoder_logvar", torch.tensor(float(decoder_logvar)))

    def decoder_log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p_\theta(x \mid z)` from the decoder's output ``out = decode(z)``.

        Bernoulli: :func:`~vae_tutorial.losses.log_bernoulli` of the logits; Gaussian:
        :func:`~vae_tutorial.losses.log_gaussian` with the shared ``decoder_logvar``.

        Shape:
            - x: :math:`(B, D)`; out: :math:`(B, D)` or :math:`(K, B, D)`.
            - Output: :math:`(B)` or :math:`(K, B)`, nats per example.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=3, hidden_dim=4, latent_dim=2, likelihood="gaussian",
            ...             decoder_logvar=0.0)
            >>> model.decoder_log_prob(torch.zeros(1, 3), torch.zeros(1, 3))  # -3/2 log(2 pi)
            tensor([-2.7568])

        Introduced in the chapter "VAEs in practice".
        """
        if self.likelihood == "bernoulli":
            return losses.log_bernoulli(x, out)
        # \log N(x; \mu_\theta(z), \sigma^2 I), one \sigma^2 for every pixel
        return losses.log_gaussian(x, out, self.decoder_logvar)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Parameters of :math:`q_\phi(z \mid x) = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)`.

        Args:
            x: Images, flattened, in [0, 1].

        Shape:
            - x: :math:`(B, D)`.
            - Output: ``mu`` and ``logvar``, each :math:`(B, L)`.

        Returns:
            ``(mu, logvar)``.

        Raises:
            TypeError: If ``x`` is not a floating-point tensor of the model's dtype (it is not
                converted: :func:`~vae_tutorial.training.train`, ``evaluate`` and
                :func:`~vae_tutorial.estimators.log_likelihood` convert their data).
            ValueError: If the last dim of ``x`` is not ``data_dim``.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)
            >>> mu, logvar = model.encode(torch.rand(5, 64))
            >>> mu.shape, logvar.shape                                 # (B, L) each
            (torch.Size([5, 2]), torch.Size([5, 2]))
        """
        _check_last_dim("x", x, self.data_dim, "data_dim", self.encoder_head.weight.dtype)
        mu, logvar = self.encoder_head(self.encoder(x)).chunk(2, dim=-1)  # (B, L), (B, L)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r"""Logits of :math:`p_\theta(x \mid z)`, one Bernoulli per pixel.

        Shape:
            - z: :math:`(*, L)`, e.g. ``(B, L)`` or ``(K, B, L)``.
            - Output: :math:`(*, D)`.

        Raises:
            TypeError: If ``z`` is not a floating-point tensor of the model's dtype.
            ValueError: If the last dim of ``z`` is not ``latent_dim``.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)
            >>> model.decode(torch.zeros(10, 5, 2)).shape  # (K, B, L) -> (K, B, D)
            torch.Size([10, 5, 64])
        """
        _check_last_dim("z", z, self.latent_dim, "latent_dim", self.encoder_head.weight.dtype)
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, n_samples: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""Encode, draw :math:`z = \mu + \sigma \odot \varepsilon`, decode.

        Args:
            x: Images, flattened, in [0, 1].
            n_samples: If given, ``K`` samples of :math:`z` per image.

        Shape:
            - x: :math:`(B, D)`.
            - Output: ``logits`` :math:`(B, D)` (or :math:`(K, B, D)`),
              ``mu`` and ``logvar`` :math:`(B, L)`.

        Returns:
            ``(logits, mu, logvar)``, ready for :func:`vae_tutorial.losses.elbo`.

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)
            >>> logits, mu, logvar = model(torch.rand(5, 64), n_samples=3)
            >>> logits.shape                                           # (K, B, D)
            torch.Size([3, 5, 64])
        """
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, n_samples=n_samples)
        return self.decode(z), mu, logvar

    def log_weights(
        self, x: torch.Tensor, n_samples: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        r"""Log importance weights with the encoder as proposal.

        .. math::
            \log w_k = \log p_\theta(x \mid z_k) + \log p(z_k) - \log q_\phi(z_k \mid x),
            \qquad z_k \sim q_\phi(z \mid x)

        Args:
            x: Images in [0, 1].
            n_samples: K, samples per image.
            generator: Optional ``torch.Generator`` for the noise.

        Shape:
            - x: :math:`(B, D)`.
            - Output: :math:`(K, B)`.

        Returns:
            :math:`\log w` in nats; their mean is the ELBO estimate
            (:func:`~vae_tutorial.losses.elbo_mc`), their log-mean-exp the IWAE bound
            (:func:`~vae_tutorial.losses.iwae_bound`).

        References:
            Burda, Grosse & Salakhutdinov (2016), eq. 8.

        Examples:
            >>> import torch
            >>> from vae_tutorial import losses
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)
            >>> x = torch.rand(5, 64).round()
            >>> log_w = model.log_weights(x, 10)                       # (K, B)
            >>> log_w.shape
            torch.Size([10, 5])
            >>> bool((losses.iwae_bound(log_w, reduction="none")
            ...       >= losses.elbo_mc(log_w, reduction="none")).all())   # Jensen
            True
        """
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, n_samples=n_samples, generator=generator)  # (K, B, L)
        logits = self.decode(z)  # (K, B, D)
        # \log w = \log p(x|z) + \log p(z) - \log q(z|x)
        return (
            self.decoder_log_prob(x, logits)
            + losses.log_standard_normal(z)
            - losses.log_normal_diag(z, mu, logvar)
        )

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Pixel probabilities :math:`\operatorname{sigmoid}(\text{logits})` of ``n`` draws from
        the prior (for a Gaussian decoder, its means).

        Shape:
            - Output: :math:`(n, D)`, values in (0, 1).

        Examples:
            >>> import torch
            >>> from vae_tutorial.models import VAE
            >>> model = VAE(data_dim=64, hidden_dim=32, latent_dim=2)
            >>> images = model.sample(4, generator=torch.Generator().manual_seed(0))
            >>> # pixel probabilities
            >>> images.shape, bool(((images > 0) & (images < 1)).all())
            (torch.Size([4, 64]), True)
        """
        check_positive_int("n", n)
        p = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=p.dtype, device=p.device)
        if self.likelihood == "gaussian":  # the decoder's means (chapter "VAEs in practice")
            return self.decode(z)
        return torch.sigmoid(self.decode(z))


def _check_likelihood(likelihood: object, decoder_logvar: object) -> str:
    """The VAE's ``likelihood`` after checking it and ``decoder_logvar``."""
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}")
    if likelihood == "bernoulli" and decoder_logvar is not None:
        raise ValueError(
            "decoder_logvar is for likelihood='gaussian' only; got likelihood='bernoulli' and "
            f"decoder_logvar={decoder_logvar!r}"
        )
    if likelihood == "gaussian" and decoder_logvar not in (None, "learned"):
        check_real("decoder_logvar", decoder_logvar)
    return likelihood


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
        _check_last_dim("x", x, self.data_dim, "D")
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
        _check_last_dim("x", x, self.data_dim, "D")
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
        _check_last_dim("x", x, self.data_dim, "D")
        _check_last_dim("z", z, self.latent_dim, "L")
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
        _check_last_dim("x", x, self.data_dim, "D")
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
