r"""The variational autoencoder: an MLP encoder and a Bernoulli (or Gaussian) MLP decoder.

:class:`VAE`: encoder :math:`q_\phi(z \mid x)` and decoder :math:`p_\theta(x \mid z)` with a
standard normal prior (Kingma & Welling 2014, appendix C).

Shape letters: K samples (dim 0), B batch, D data, L latent.
"""

from __future__ import annotations

import torch
from torch import nn

from vae_tutorial import likelihoods, losses
from vae_tutorial._checks import check_last_dim, check_positive_int, check_real
from vae_tutorial.sampling import reparameterize

__all__ = ["VAE"]


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
            (``decode`` returns the means of :math:`\mathcal{N}(x; \mu_\theta(z), \sigma_x^2 I)`,
            one variance shared by all pixels; chapter "VAEs in practice").
        decoder_logvar: Gaussian only: :math:`\log\sigma_x^2`, a fixed real number, or
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
        :func:`~vae_tutorial.likelihoods.log_gaussian` with the shared ``decoder_logvar``.

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
        # \log N(x; \mu_\theta(z), \sigma_x^2 I), one \sigma_x^2 for every pixel
        return likelihoods.log_gaussian(x, out, self.decoder_logvar)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p_\theta(x, z) = \log p_\theta(x \mid z) + \log \mathcal{N}(z; 0, I)`.

        The same interface as :meth:`LinearGaussian.log_joint
        <vae_tutorial.models.LinearGaussian.log_joint>`, so the grid functions of
        :mod:`vae_tutorial.quadrature` give a small VAE's exact evidence (a 1-D or 2-D latent).

        Shape:
            - x: :math:`(B, D)`; z: :math:`(*, B, L)` or broadcastable, e.g. ``(N, 1, L)``.
            - Output: the broadcast batch shape, e.g. ``(N, B)``, nats.

        Examples:
            >>> import torch
            >>> from vae_tutorial import quadrature
            >>> from vae_tutorial.models import VAE
            >>> _ = torch.manual_seed(0)
            >>> model = VAE(data_dim=4, hidden_dim=8, latent_dim=1)
            >>> x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
            >>> log_px = quadrature.grid_log_evidence(model, x, n_per_dim=400, lim=8.0)
            >>> bool(log_px < 0), tuple(log_px.shape)               # nats, one per image
            (True, (1,))

        Introduced in the chapter "Using the package in homework".
        """
        # \log p(x, z) = \log p(x | z) + \log p(z)
        return self.decoder_log_prob(x, self.decode(z)) + losses.log_standard_normal(z)

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
        check_last_dim("x", x, self.data_dim, "data_dim", self.encoder_head.weight.dtype)
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
        check_last_dim("z", z, self.latent_dim, "latent_dim", self.encoder_head.weight.dtype)
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
