r"""Interactive explorers for the chapters (ipywidgets).

This is the only module of the package that imports ``ipywidgets`` and ``IPython``; it is not
imported by ``vae_tutorial/__init__.py``. Each function returns a widget to display as the last
expression of a notebook cell; the rendered book shows the state saved when the notebook was
executed, and a running kernel makes the sliders live. Explorers that compute in the page
itself, with no kernel (chapters 1 and 2), are in :mod:`vae_tutorial.explorers`.

One explorer needs no kernel at all: :func:`image_slider` shows precomputed images and ties its
slider to them with ``ipywidgets.jslink``, a link the widget script carries out in the browser,
so in the static book its slider switches the image too. Its container has the CSS class
:data:`OFFLINE_CLASS`, which the book's "snapshot" note (``widgets-static-note.js``) skips.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.image
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from vae_tutorial import estimators, inference, models, plotting, sampling
from vae_tutorial._checks import check_positive_int, check_real, check_tensor, shape_str

__all__ = [
    "OFFLINE_CLASS",
    "change_of_variables_explorer",
    "elbo_explorer",
    "gradient_variance_explorer",
    "image_slider",
    "importance_sampling_explorer",
    "latent_traversal",
]

#: CSS class of a widget that works in the static page with no kernel (front-end links only).
OFFLINE_CLASS = "vae-offline-widget"


def _show(fig) -> None:  # noqa: ANN001
    display(fig)
    plt.close(fig)


# --- chapter 3: Jensen and the ELBO (chapter 2's is explorers.kl_explorer) ---


def elbo_explorer(model=None, x: torch.Tensor | None = None) -> widgets.Widget:  # noqa: ANN001
    r"""Move a Gaussian :math:`q(z)` on a 1-D linear-Gaussian model; watch log p(x), the ELBO and
    the gap.

    Sliders set :math:`q`'s mean and log-variance. Printed: the exact :math:`\log p(x)`, the
    analytic ELBO (:func:`vae_tutorial.inference.linear_gaussian_elbo`), the gap
    :math:`\mathrm{KL}(q \,\|\, p(z \mid x))` (:func:`vae_tutorial.inference.kl_to_posterior`) and
    the residual of :math:`\log p(x) = \mathrm{ELBO} + \mathrm{KL}`. The gap is zero exactly when
    :math:`q` is the posterior.

    Args:
        model: A :class:`~vae_tutorial.models.LinearGaussian` with L = 1 (default: D = 2, seed 0).
        x: One data point, shape ``(D,)`` (default: a fixed point drawn from the model).

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    if model is None:
        model = models.LinearGaussian.random(data_dim=2, latent_dim=1, noise_std=0.7, seed=0)
    if model.latent_dim != 1:
        raise ValueError(f"model must have latent_dim 1; got {model.latent_dim}")
    with torch.no_grad():
        if x is None:
            x, _ = model.sample(1, generator=torch.Generator().manual_seed(3))
        x = x.reshape(1, -1)
        mean, cov = model.posterior(x)
        m, s = float(mean), float(cov.sqrt())
        log_evidence = float(model.log_evidence(x))
    z = torch.linspace(m - 5 * max(s, 0.5), m + 5 * max(s, 0.5), 600, dtype=torch.float64)
    posterior = torch.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    sliders = {
        "mu": widgets.FloatSlider(value=round(m + 1.0, 1), min=round(m - 3.0, 1),
                                  max=round(m + 3.0, 1), step=0.05, description="mean of q"),
        "logvar": widgets.FloatSlider(value=0.0, min=-5.0, max=2.0, step=0.1,
                                      description="log var q"),
    }

    def update(mu: float, logvar: float) -> None:
        mu_t = torch.tensor([[mu]], dtype=torch.float64)
        lv_t = torch.tensor([[logvar]], dtype=torch.float64)
        with torch.no_grad():
            elbo = float(inference.linear_gaussian_elbo(model, x, mu_t, lv_t))
            gap = float(inference.kl_to_posterior(model, x, mu_t, lv_t))
        print(f"log p(x) = {log_evidence:.4f}   ELBO = {elbo:.4f}   KL(q || p(z|x)) = {gap:.4f}   "
              f"|log p(x) - ELBO - KL| < 1e-10: {abs(log_evidence - elbo - gap) < 1e-10}")
        var = math.exp(logvar)
        q = torch.exp(-0.5 * (z - mu) ** 2 / var) / math.sqrt(2 * math.pi * var)
        _show(plotting.plot_elbo_gap(z, posterior, q, log_evidence, elbo))

    out = widgets.interactive_output(update, sliders)
    return widgets.VBox([widgets.HBox([sliders["mu"], sliders["logvar"]]), out])


def importance_sampling_explorer(model, x: torch.Tensor, *, seed: int = 0) -> widgets.Widget:  # noqa: ANN001
    r"""Move a Gaussian proposal :math:`q` away from the posterior and watch the weights degenerate.

    Sliders: the shift of :math:`q`'s mean from the exact posterior mean (in posterior standard
    deviations), the ratio of :math:`q`'s standard deviation to the posterior's, and K. Shown:
    the importance-sampled :math:`\log \hat p(x)` against the exact :math:`\log p(x)`, the
    effective sample size, and the sorted normalized weights.

    Args:
        model: A :class:`~vae_tutorial.models.LinearGaussian` (exact evidence and posterior).
        x: One data point, shape ``(D,)``.
        seed: Seed of the proposal noise (the same noise for every slider position).

    Introduced in the chapter "Importance sampling".
    """
    x = x.reshape(1, -1)
    with torch.no_grad():
        mean, cov = model.posterior(x)
        std = cov.diagonal().sqrt()
        exact = float(model.log_evidence(x))
    shift = widgets.FloatSlider(value=0.0, min=-4.0, max=4.0, step=0.25, description="shift (sd)")
    scale = widgets.FloatLogSlider(
        value=1.0, base=2, min=-3, max=3, step=0.25, description="sd ratio"
    )
    k = widgets.IntSlider(value=256, min=2, max=4096, step=2, description="K")

    def update(shift: float, scale: float, k: int) -> None:
        eps = torch.randn(k, 1, model.latent_dim, dtype=mean.dtype,
                          generator=torch.Generator().manual_seed(seed))
        mu = mean + shift * std
        logvar = (2.0 * torch.log(scale * std)).expand_as(mu)
        with torch.no_grad():
            est = estimators.importance_sampling(model, x, mu, logvar, k, eps=eps)
        print(f"exact log p(x) = {exact:.4f}   "
              f"IS estimate log p_hat(x) = {float(est.log_evidence):.4f}   "
              f"ESS = {float(est.ess):.1f} of {k}")
        label = f"q: shift {shift:g} sd, sd x{scale:.2f}"
        _show(plotting.plot_weight_degeneracy({label: est.log_weights[:, 0]},
                                              title="Sorted normalized importance weights"))

    out = widgets.interactive_output(update, {"shift": shift, "scale": scale, "k": k})
    return widgets.VBox([widgets.HBox([shift, scale, k]), out])


def gradient_variance_explorer(*, n_repeats: int = 2000, seed: int = 0) -> widgets.Widget:
    r"""Compare the variance of the score-function and pathwise estimators of
    :math:`\nabla_\mu \mathbb{E}_q[\sum_i z_i^2]` as the mean, spread, K and dimension change.

    Introduced in the chapter "The reparameterization trick".
    """
    mu = widgets.FloatSlider(value=1.0, min=-3.0, max=3.0, step=0.25, description="mu")
    log_sigma = widgets.FloatSlider(
        value=0.0, min=-2.0, max=1.0, step=0.25, description="log sigma"
    )
    k = widgets.IntSlider(value=1, min=1, max=64, description="K")
    dim = widgets.IntSlider(value=1, min=1, max=64, description="dim L")

    def f(z: torch.Tensor) -> torch.Tensor:
        return (z**2).sum(-1)

    def update(mu: float, log_sigma: float, k: int, dim: int) -> None:
        m = torch.full((dim,), mu, dtype=torch.float64)
        lv = torch.full((dim,), 2.0 * log_sigma, dtype=torch.float64)
        res = {}
        for name in ("score", "pathwise"):
            g = torch.Generator().manual_seed(seed)
            st = sampling.gradient_variance(name, f, m, lv, k, n_repeats, generator=g)
            res[name] = float(st.var_mu.sum())
        print(f"exact d/dmu = 2 mu = {2 * mu:.3f} per coordinate; "
              f"variance of the estimate (sum over {dim} coordinates):")
        print(f"  score function {res['score']:.4g}   pathwise {res['pathwise']:.4g}   "
              f"ratio {res['score'] / max(res['pathwise'], 1e-300):.1f}")
        fig, ax = plt.subplots(figsize=(5, 2.5))
        ax.barh(["pathwise", "score function"], [res["pathwise"], res["score"]],
                color=[plotting.OKABE_ITO[4], plotting.OKABE_ITO[5]])
        ax.set_xscale("log")
        ax.set_xlabel("variance of the gradient estimate w.r.t. mu")
        ax.set_title("Which estimator is noisier?")
        fig.tight_layout()
        _show(fig)

    out = widgets.interactive_output(update, {"mu": mu, "log_sigma": log_sigma, "k": k, "dim": dim})
    return widgets.VBox([widgets.HBox([mu, log_sigma]), widgets.HBox([k, dim]), out])


def change_of_variables_explorer() -> widgets.Widget:
    r"""Slide :math:`\mu`, :math:`\sigma` and an interval of :math:`\varepsilon`; the interval's
    image under :math:`z = \mu + \sigma\varepsilon` keeps its probability while the density
    divides by :math:`\sigma`.

    Introduced in the chapter "The joint-likelihood view".
    """
    mu = widgets.FloatSlider(value=1.0, min=-3.0, max=3.0, step=0.25, description="mu")
    sigma = widgets.FloatLogSlider(value=0.5, base=2, min=-3, max=2, step=0.25, description="sigma")
    a = widgets.FloatSlider(value=0.5, min=-3.0, max=3.0, step=0.25, description="eps from")
    width = widgets.FloatSlider(value=0.5, min=0.25, max=3.0, step=0.25, description="width")

    def update(mu: float, sigma: float, a: float, width: float) -> None:
        print(f"log|det J| = log sigma = {math.log(sigma):.4f};  q(z) = q(eps) / {sigma:.3f}")
        _show(plotting.plot_change_of_variables(mu, sigma, interval=(a, a + width)))

    out = widgets.interactive_output(update, {"mu": mu, "sigma": sigma, "a": a, "width": width})
    return widgets.VBox([widgets.HBox([mu, sigma]), widgets.HBox([a, width]), out])


def latent_traversal(
    model,  # noqa: ANN001
    z0: torch.Tensor,
    image_shape: tuple[int, int] = (28, 28),
    *,
    dims: tuple[int, ...] | None = None,
    span: float = 3.0,
) -> widgets.Widget:
    r"""Move a latent code along coordinate directions and see the decoded image change.

    Args:
        model: A VAE with ``decode``.
        z0: Starting code, shape ``(L,)`` (e.g. the posterior mean of a test digit).
        image_shape: ``(H, W)`` of one image.
        dims: Latent coordinates to expose as sliders (default: the first four, or all if fewer).
        span: Sliders run over ``z0[i] +- span``.

    Introduced in the chapter "A VAE on real digits".
    """
    z0 = z0.detach().reshape(-1)
    dims = tuple(range(min(4, z0.numel()))) if dims is None else tuple(dims)
    sliders = {
        f"z{i}": widgets.FloatSlider(value=float(z0[i]), min=float(z0[i]) - span,
                                     max=float(z0[i]) + span, step=0.1, description=f"z[{i}]")
        for i in dims
    }

    def update(**values: float) -> None:
        z = z0.clone()
        for i in dims:
            z[i] = values[f"z{i}"]
        with torch.no_grad():
            img = torch.sigmoid(model.decode(z.unsqueeze(0)))
        moved = ", ".join(f"z[{i}]={values[f'z{i}']:+.1f}" for i in dims)
        _show(plotting.image_grid(img, image_shape, ncols=1, cell_inches=2.2, title=moved))

    out = widgets.interactive_output(update, sliders)
    return widgets.VBox([widgets.VBox(list(sliders.values())), out])


class _ImageSlider(widgets.VBox):
    """The box :func:`image_slider` returns; a short text form instead of every image's bytes."""

    def __repr__(self) -> str:
        return self._summary


def _png(image: torch.Tensor, scale: int) -> bytes:
    """PNG bytes of one ``(H, W)`` image in [0, 1], black on white, each pixel ``scale`` wide."""
    big = image.repeat_interleave(scale, 0).repeat_interleave(scale, 1)  # nearest-neighbour
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, big.cpu().double().numpy(), cmap="gray_r", vmin=0.0, vmax=1.0,
                            format="png", metadata={"Software": None})
    return buf.getvalue()


def image_slider(
    images: torch.Tensor,
    values: Sequence[float] | torch.Tensor,
    *,
    description: str = "t",
    value_format: str = "{:.2f}",
    captions: Sequence[str] | None = None,
    scale: int = 4,
) -> widgets.VBox:
    r"""A slider over precomputed images that also moves in the static book, with no kernel.

    Image ``k`` is shown when the slider stands at ``values[k]``. The images are encoded once as
    PNGs in an ``ipywidgets.Stack``, whose ``selected_index`` follows the slider's ``index``
    through ``ipywidgets.jslink``; the optional captions sit in a second ``Stack`` linked the
    same way, and the slider's readout shows ``values[k]``. Nothing is recomputed in Python, so
    the widget script of the rendered page carries out the links by itself: the slider works
    offline and with no kernel, unlike the other explorers, whose output is a saved snapshot.
    The container has the CSS class :data:`OFFLINE_CLASS`.

    Args:
        images: The images, values in [0, 1] (a decoder's pixel probabilities), shown black on
            white. Flattened images must be reshaped first.
        values: The parameter of each image (e.g. the interpolation weight), shown as the
            slider's readout: ``N`` finite reals.
        description: The slider's label.
        value_format: Format of a value in the readout; must give ``N`` distinct labels.
        captions: Optional text under the image, one per image.
        scale: Each pixel is drawn as a ``scale`` x ``scale`` square (nearest neighbour).

    Shape:
        - images: ``(N, H, W)``, ``N >= 1``.
        - values: ``(N,)``.

    Returns:
        An ``ipywidgets.VBox`` holding a ``SelectionSlider``, the ``Stack`` of ``Image``\ s and,
        with captions, the ``Stack`` of ``Label``\ s. Its attribute ``links`` holds the
        ``ipywidgets.Link`` objects (slider ``index`` to each stack's ``selected_index``).

    Raises:
        TypeError: If ``images`` is not a floating-point tensor, a value is not a real number,
            or ``description``, ``value_format`` or a caption is not a string.
        ValueError: If ``images`` is not ``(N, H, W)`` with ``N >= 1``, is not finite or leaves
            [0, 1]; if ``values`` or ``captions`` do not have ``N`` entries; if ``value_format``
            gives two values the same label; if ``scale`` is not a positive int.

    Introduced in the chapter "A VAE on real digits".
    """
    check_tensor("images", images)
    if images.dim() != 3 or images.shape[0] < 1:
        raise ValueError(f"images must have shape (N, H, W) with N >= 1; "
                         f"got {shape_str(images.shape)}")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"images must have values in [0, 1]; got values from {lo:g} to {hi:g}")
    n = images.shape[0]
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise ValueError(f"values must have shape (N,) = ({n},); "
                             f"got {shape_str(values.shape)}")
        values = values.detach().tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"values must be a sequence of N = {n} real numbers; "
                        f"got {type(values).__name__}")
    if len(values) != n:
        raise ValueError(f"values must hold one value per image, N = {n}; got {len(values)}")
    for k, v in enumerate(values):
        check_real(f"values[{k}]", v)
    for name, text in (("description", description), ("value_format", value_format)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str; got {type(text).__name__}")
    check_positive_int("scale", scale)
    labels = [value_format.format(v) for v in values]
    if len(set(labels)) != n:
        raise ValueError(f"value_format must give each of the N = {n} values its own label; "
                         f"{value_format!r} gives {len(set(labels))} distinct label(s)")
    if captions is not None:
        if isinstance(captions, str) or not isinstance(captions, Sequence):
            raise TypeError(f"captions must be a sequence of str; got {type(captions).__name__}")
        if len(captions) != n:
            raise ValueError(f"captions must hold one caption per image, N = {n}; "
                             f"got {len(captions)}")
        for k, c in enumerate(captions):
            if not isinstance(c, str):
                raise TypeError(f"captions[{k}] must be a str; got {type(c).__name__}")

    slider = widgets.SelectionSlider(options=[(label, k) for k, label in enumerate(labels)],
                                     value=0, description=description, continuous_update=True)
    images = images.detach()
    # One Layout (and one LabelStyle) shared by all images (captions): the saved widget state
    # then holds one such model instead of N.
    image_layout = widgets.Layout()
    stack = widgets.Stack([widgets.Image(value=_png(img, scale), format="png", layout=image_layout)
                           for img in images], selected_index=0)
    # The links live in the browser: moving the slider sets each stack's selected_index there.
    links = [widgets.jslink((slider, "index"), (stack, "selected_index"))]
    children: list[widgets.Widget] = [slider, stack]
    if captions is not None:
        first = widgets.Label(value=captions[0])
        notes = widgets.Stack([first] + [widgets.Label(value=c, layout=first.layout,
                                                       style=first.style) for c in captions[1:]],
                              selected_index=0)
        links.append(widgets.jslink((slider, "index"), (notes, "selected_index")))
        children.append(notes)
    box = _ImageSlider(children)
    box.add_class(OFFLINE_CLASS)
    box.links = tuple(links)
    h, w = images.shape[1:]
    box._summary = (f"image_slider: {n} precomputed {h}x{w} images, {description} from "
                    f"{labels[0]} to {labels[-1]} (front-end links only: works with no kernel)")
    return box
