r"""Chapter 7's explorers of a trained decoder: a latent traversal and an interpolation.

A decoder cannot run as a Vega expression, so the package decodes when the explorer is built:
on a grid of control values it computes the pixel probabilities
:math:`\operatorname{sigmoid}(\ell(z))` of :meth:`vae_tutorial.models.VAE.decode` and ships them
inside the specification, each image as a string of two hexadecimal digits per pixel (the
probability rounded to a multiple of 1/255, so within 1/510 of the decoder's). The page picks
the image of the current control values, turns it back into 784 numbers with
``parseInt(substring(img, 2 i, 2 i + 2), 16) / 255`` and draws it as a grey-scale heatmap,
black on white. The code :math:`z` of that image is computed in the page from the shipped
endpoints (a formula checked against the package by ``tests/test_explorer_decoder.py``) and
printed beside it.

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from vae_tutorial._checks import check_real, check_tensor, shape_str
from vae_tutorial.explorers.spec import CONFIG, SCHEMA, Explorer, slider

__all__ = ["decode_hex", "hex_images", "interpolation_explorer", "latent_traversal_explorer"]

#: Size of one drawn pixel, in screen pixels (a 28 x 28 image is 280 px wide).
PIXEL = 10
#: How many code coordinates one printed line holds (a line then fits a phone unscaled).
PER_LINE = 5
#: Width of the printed lines' panel in pixels (narrower than WIDTH: the image is 280 px).
TEXT_WIDTH = 330


def hex_images(images: torch.Tensor) -> list[str]:
    """Each image of pixel probabilities as a string of two hexadecimal digits per pixel.

    A pixel :math:`p \\in [0, 1]` is written as the byte ``round(255 p)``, so the page's value
    ``byte / 255`` is within 1/510 of ``p``.

    Args:
        images: Pixel probabilities, shape ``(N, D)``, values in [0, 1].

    Returns:
        ``N`` strings of ``2 D`` characters.

    Raises:
        TypeError: If ``images`` is not a floating-point tensor.
        ValueError: If it is not 2-D, not finite or leaves [0, 1].

    Example:
        >>> hex_images(torch.tensor([[0.0, 0.5, 1.0]]))
        ['0080ff']
    """
    check_tensor("images", images)
    if images.dim() != 2:
        raise ValueError(f"images must have shape (N, D); got {shape_str(images.shape)}")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"images must have values in [0, 1]; got values from {lo:g} to {hi:g}")
    # byte = round(255 p), so |byte / 255 - p| <= 1/510
    q = (images.detach().double() * 255.0).round().to(torch.uint8)
    return [bytes(row.tolist()).hex() for row in q]


def decode_hex(strings: Sequence[str]) -> torch.Tensor:
    """The inverse of :func:`~vae_tutorial.explorers.decoder.hex_images`: ``(N, D)`` pixel
    values ``byte / 255`` (float64).

    This is what the page computes, pixel by pixel, before drawing.

    Example:
        >>> decode_hex(['0080ff']).tolist()
        [[0.0, 0.5019607843137255, 1.0]]
    """
    return torch.tensor([list(bytes.fromhex(s)) for s in strings], dtype=torch.float64) / 255.0


def _decode(model: Any, z: torch.Tensor) -> torch.Tensor:  # noqa: ANN401
    """Pixel probabilities sigmoid(decode(z)) of ``model`` for the codes ``z`` ``(N, L)``."""
    with torch.no_grad():
        return torch.sigmoid(model.decode(z.to(next(model.parameters()).dtype)))


def _check_model_and_code(model: Any, name: str, z: object) -> torch.Tensor:  # noqa: ANN401
    if not callable(getattr(model, "decode", None)) or not hasattr(model, "parameters"):
        raise TypeError(f"model must be a torch module with a decode method (a VAE); "
                        f"got {type(model).__name__}")
    check_tensor(name, z)
    z = z.detach().reshape(-1) if z.dim() == 2 and z.shape[0] == 1 else z.detach()
    if z.dim() != 1 or z.numel() < 1:
        raise ValueError(f"{name} must have shape (L,); got {shape_str(z.shape)}")
    return z


def _check_shape(image_shape: object, n_pixels: int) -> tuple[int, int]:
    if (not isinstance(image_shape, tuple) or len(image_shape) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                       for s in image_shape)):
        raise TypeError(f"image_shape must be a tuple (H, W) of positive ints; got {image_shape!r}")
    if image_shape[0] * image_shape[1] != n_pixels:
        raise ValueError(f"image_shape {image_shape} does not hold the decoder's {n_pixels} pixels")
    return image_shape


def _code_lines(z_expr: str, n: int) -> list[str]:
    """Vega expressions of the printed code: ``z = (z_1, ..., z_L)``, PER_LINE per line."""
    lines = []
    for start in range(0, n, PER_LINE):
        parts = " + ', ' + ".join(f"format({z_expr}[{i}], '.2f')"
                                  for i in range(start, min(n, start + PER_LINE)))
        # continuation lines start under the first number (no-break spaces: SVG keeps them)
        head = "'z = (' + " if start == 0 else "'\u00a0\u00a0\u00a0\u00a0\u00a0' + "
        tail = " + ')'" if start + PER_LINE >= n else " + ','"
        lines.append(head + parts + tail)
    return lines


def _norm_expr(z_expr: str, n: int) -> str:
    # ||z|| = sqrt(sum_l z_l^2)
    return "sqrt(" + " + ".join(f"{z_expr}[{i}] * {z_expr}[{i}]" for i in range(n)) + ")"


def _image_panel(img_param: str, image_shape: tuple[int, int], title: str) -> dict:
    """A heatmap of the image whose hex string is the parameter ``img_param``."""
    h, w = image_shape
    return {
        # the title from the image's left edge: centred, a long one sticks out on both sides
        "width": PIXEL * w + 4, "height": PIXEL * h + 4,
        "title": {"text": title, "anchor": "start"},
        # the edge of the image (its background is white), 2 px outside the outer pixels
        "view": {"stroke": "#888888"},
        "data": {"sequence": {"start": 0, "stop": h * w, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": f"floor(datum.i / {w})", "as": "row"},
            {"calculate": f"datum.i % {w}", "as": "col"},
            # p = byte / 255, the byte written as two hex digits per pixel (hex_images)
            {"calculate": f"parseInt(substring({img_param}, 2 * datum.i, 2 * datum.i + 2), 16)"
                          " / 255", "as": "p"},
        ],
        "mark": {"type": "rect", "strokeWidth": 0},
        "encoding": {
            "x": {"field": "col", "type": "ordinal", "axis": None,
                  "scale": {"paddingInner": 0, "paddingOuter": 0.2}},
            "y": {"field": "row", "type": "ordinal", "axis": None,
                  "scale": {"paddingInner": 0, "paddingOuter": 0.2}},
            "color": {"field": "p", "type": "quantitative", "legend": None,
                      "scale": {"domain": [0, 1], "range": ["#ffffff", "#000000"],
                                "interpolate": "rgb"}},
        },
    }


def _readout_panel(lines: str, n_lines: int) -> dict:
    return {"width": TEXT_WIDTH, "height": 20 * n_lines, "data": {"values": [{}]},
            "mark": {"type": "text", "fontSize": 14, "align": "left", "baseline": "top",
                     "x": 0, "y": 0, "lineHeight": 20, "font": "monospace"},
            "encoding": {"text": {"value": {"expr": lines}}}}


def latent_traversal_explorer(
    model: Any,  # noqa: ANN401
    z_start: torch.Tensor,
    units: Sequence[int],
    *,
    span: float = 3.0,
    steps: int = 25,
    image_shape: tuple[int, int] = (28, 28),
) -> Explorer:
    r"""Move one chosen latent unit of a code and see the trained decoder's image, in the page.

    The code starts at ``z_start`` (e.g. the posterior mean of a test digit). One slider picks
    the unit, by its rank ``r`` in ``units`` (the chapter passes the most active units, most
    active first); the other sets the shift :math:`\delta` added to that unit,
    :math:`z = z_{\text{start}} + \delta\, e_{u_r}`, on the grid of ``steps`` values from
    ``-span`` to ``span``. Every image of the grid (``len(units) * steps`` of them) is decoded
    here, :math:`\operatorname{sigmoid}(\ell(z))`, and shipped in the specification
    (:func:`~vae_tutorial.explorers.decoder.hex_images`); the page shows the one of the current
    values and prints the unit, :math:`\delta`, the moved coordinate, :math:`\lVert z \rVert`
    and the whole code.

    Args:
        model: A trained :class:`~vae_tutorial.models.VAE` (anything with ``decode`` from codes
            ``(N, L)`` to logits ``(N, H W)`` and ``parameters``).
        z_start: The starting code, shape ``(L,)``.
        units: The latent units to offer, distinct indices in ``[0, L)``, at least one.
        span: The shift runs over ``[-span, span]`` (> 0, units of z).
        steps: Grid values of the shift, odd (so that 0, the start, is one of them), >= 3.
        image_shape: ``(H, W)`` of one image.

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`; display it as the last expression of
        a cell.

    Raises:
        TypeError: If ``model`` has no ``decode``, ``z_start`` is not a floating-point tensor,
            a unit or ``steps`` is not an int, ``span`` is not a real number or ``image_shape``
            is not a pair of ints.
        ValueError: If ``z_start`` is not ``(L,)`` or not finite, ``units`` is empty, repeats a
            unit or leaves ``[0, L)``, ``span`` is not positive, ``steps`` is even or < 3, or
            the decoder's images do not have ``H W`` pixels.

    Example:
        >>> from vae_tutorial.models import VAE
        >>> _ = torch.manual_seed(0)
        >>> vae = VAE(data_dim=4, hidden_dim=8, latent_dim=3)
        >>> ex = latent_traversal_explorer(vae, torch.zeros(3), [2, 0], steps=5,
        ...                                image_shape=(2, 2))
        >>> len(ex.spec["params"][0]["value"]), len(ex.spec["params"][0]["value"][0])
        (10, 8)

    Introduced in the chapter "A VAE on real digits".
    """
    z_start = _check_model_and_code(model, "z_start", z_start)
    n = z_start.numel()
    if isinstance(units, (str, bytes)) or not isinstance(units, Sequence):
        raise TypeError(f"units must be a sequence of ints; got {type(units).__name__}")
    for u in units:
        if isinstance(u, bool) or not isinstance(u, int):
            raise TypeError(f"units must hold ints; got {u!r}")
    units = list(units)
    if not units or len(set(units)) != len(units) or not all(0 <= u < n for u in units):
        raise ValueError(f"units must be distinct indices in [0, {n}), at least one; "
                         f"got {units}")
    check_real("span", span)
    if not span > 0:
        raise ValueError(f"span must be > 0; got {span}")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int; got {type(steps).__name__}")
    if steps < 3 or steps % 2 == 0:
        raise ValueError(f"steps must be odd and >= 3; got {steps}")
    span = float(span)
    step = 2.0 * span / (steps - 1)
    shifts = torch.linspace(-span, span, steps, dtype=torch.float64)        # (S,)
    # z = z_start + delta e_u, for every offered unit u and every shift delta on the grid
    z_grid = z_start.double().repeat(len(units) * steps, 1)                 # (U S, L)
    for r, u in enumerate(units):
        z_grid[r * steps:(r + 1) * steps, u] += shifts
    images = _decode(model, z_grid)                                          # (U S, H W)
    image_shape = _check_shape(image_shape, images.shape[-1])
    start = [float(v) for v in z_start.double()]
    # the code of the shown image: z_l = z_start_l + delta [l = u]
    z_expr = "[" + ", ".join(f"z_start[{i}] + (moved_unit === {i} ? delta : 0)"
                             for i in range(n)) + "]"
    lines = ("['unit z[' + moved_unit + '] (rank ' + rank + ' of " + str(len(units))
             + "), δ = ' + format(delta, '+.2f'), "
             "'z[' + moved_unit + '] = ' + format(z_start[moved_unit], '.2f') + ' + (' "
             "+ format(delta, '+.2f') + ') = ' + format(z[moved_unit], '.2f'), "
             "'‖z‖ = ' + format(z_norm, '.2f'), "
             + ", ".join(_code_lines("z", n)) + "]")
    n_lines = 3 + -(-n // PER_LINE)
    spec = {
        "$schema": SCHEMA,
        "description": "Latent traversal of a trained decoder: the image decoded from a code "
                       "whose chosen unit is shifted, with the code printed.",
        "params": [
            {"name": "images", "value": hex_images(images)},
            {"name": "z_start", "value": start},
            {"name": "units", "value": units},
            slider("rank", 1, 1, len(units), 1,
                   f"unit moved: rank among the {len(units)} offered (1 = most active)"),
            slider("delta", 0.0, -span, span, step, "shift δ added to that unit (units of z)"),
            {"name": "moved_unit", "expr": "units[rank - 1]"},
            {"name": "k", "expr": f"round((delta + {span!r}) / {step!r})"},
            {"name": "img", "expr": f"images[(rank - 1) * {steps} + k]"},
            {"name": "z", "expr": z_expr},
            {"name": "z_norm", "expr": _norm_expr("z", n)},
        ],
        "vconcat": [
            _readout_panel(lines, n_lines),
            _image_panel("img", image_shape, "Decoded sigmoid(decoder(z)): white 0, black 1"),
        ],
        "config": CONFIG,
    }
    summary = (f"Latent-traversal explorer: {len(units)} units of a {n}-D code, each shifted "
               f"from {-span:g} to {span:g} in {steps} steps "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("latent_traversal", spec, summary, panel_width=TEXT_WIDTH)


def interpolation_explorer(
    model: Any,  # noqa: ANN401
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    *,
    steps: int = 21,
    names: tuple[str, str] = ("a", "b"),
    image_shape: tuple[int, int] = (28, 28),
) -> Explorer:
    r"""Walk the straight line between two codes and see the trained decoder's image, in the page.

    A slider sets :math:`t \in [0, 1]` on a grid of ``steps`` values; the page shows the image
    decoded from :math:`z(t) = (1 - t)\, z_a + t\, z_b` and prints :math:`t`, the mixture,
    :math:`\lVert z(t) \rVert` and the code. The ``steps`` images are decoded here,
    :math:`\operatorname{sigmoid}(\ell(z(t)))`, and shipped in the specification
    (:func:`~vae_tutorial.explorers.decoder.hex_images`).

    Args:
        model: A trained :class:`~vae_tutorial.models.VAE` (``decode`` and ``parameters``).
        z_a, z_b: The end points, shape ``(L,)`` each (e.g. two posterior means).
        steps: Grid values of t, >= 2 (``t = k / (steps - 1)``).
        names: What the end points are, printed as ``μ(name)`` (e.g. ``("3", "8")``).
        image_shape: ``(H, W)`` of one image.

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`.

    Raises:
        TypeError: If ``model`` has no ``decode``, an end point is not a floating-point tensor,
            ``steps`` is not an int, ``names`` is not two strings or ``image_shape`` is not a
            pair of ints.
        ValueError: If an end point is not ``(L,)`` or not finite, the two differ in shape,
            ``steps`` < 2, or the decoder's images do not have ``H W`` pixels.

    Example:
        >>> from vae_tutorial.models import VAE
        >>> _ = torch.manual_seed(0)
        >>> vae = VAE(data_dim=4, hidden_dim=8, latent_dim=3)
        >>> ex = interpolation_explorer(vae, torch.zeros(3), torch.ones(3), steps=3,
        ...                             image_shape=(2, 2))
        >>> ex.spec["params"][0]["value"][0] == hex_images(torch.sigmoid(
        ...     vae.decode(torch.zeros(1, 3))).detach())[0]
        True

    Introduced in the chapter "A VAE on real digits".
    """
    z_a = _check_model_and_code(model, "z_a", z_a)
    z_b = _check_model_and_code(model, "z_b", z_b)
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_b must have the shape of z_a {shape_str(z_a.shape)}; "
                         f"got {shape_str(z_b.shape)}")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int; got {type(steps).__name__}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2; got {steps}")
    if (not isinstance(names, tuple) or len(names) != 2
            or not all(isinstance(s, str) for s in names)):
        raise TypeError(f"names must be a tuple of two strings; got {names!r}")
    n = z_a.numel()
    step = 1.0 / (steps - 1)
    t = (torch.arange(steps, dtype=torch.float64) / (steps - 1))[:, None]   # (S, 1)
    # z(t) = (1 - t) z_a + t z_b
    z_line = (1 - t) * z_a.double() + t * z_b.double()                       # (S, L)
    images = _decode(model, z_line)                                          # (S, H W)
    image_shape = _check_shape(image_shape, images.shape[-1])
    a, b = (s.replace("\\", "\\\\").replace("'", "\\'") for s in names)
    # the code of the shown image, from the shipped end points: z = (1 - t) z_a + t z_b
    z_expr = "[" + ", ".join(f"(1 - t) * z_a[{i}] + t * z_b[{i}]" for i in range(n)) + "]"
    lines = (f"['t = ' + format(t, '.2f') + ':  z = ' + format(1 - t, '.2f') + ' μ({a}) + ' "
             f"+ format(t, '.2f') + ' μ({b})', '‖z‖ = ' + format(z_norm, '.2f'), "
             + ", ".join(_code_lines("z", n)) + "]")
    n_lines = 2 + -(-n // PER_LINE)
    spec = {
        "$schema": SCHEMA,
        "description": "Interpolation between two codes of a trained decoder: the image "
                       "decoded from (1 - t) z_a + t z_b, with the code printed.",
        "params": [
            {"name": "images", "value": hex_images(images)},
            {"name": "z_a", "value": [float(v) for v in z_a.double()]},
            {"name": "z_b", "value": [float(v) for v in z_b.double()]},
            slider("t", 0.0, 0.0, 1.0, step,
                   f"t, the weight of μ({names[1]}) (0 = μ({names[0]}), 1 = μ({names[1]}))"),
            {"name": "k", "expr": f"round(t * {steps - 1})"},
            {"name": "img", "expr": "images[k]"},
            {"name": "z", "expr": z_expr},
            {"name": "z_norm", "expr": _norm_expr("z", n)},
        ],
        "vconcat": [
            _readout_panel(lines, n_lines),
            _image_panel("img", image_shape, "Decoded sigmoid(decoder(z(t))): white 0, black 1"),
        ],
        "config": CONFIG,
    }
    summary = (f"Interpolation explorer: {steps} codes on the line from μ({names[0]}) to "
               f"μ({names[1]}) in a {n}-D latent space "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("interpolation", spec, summary, panel_width=TEXT_WIDTH)
