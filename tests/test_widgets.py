"""The offline image slider of :mod:`vae_tutorial.widgets`: its validation and its widget tree.

The browser side (the slider moves the image in the static page, with no kernel) is checked in
``tests/test_browser.py``; here, that the links the browser carries out are the right ones.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.image
import pytest
import torch
from ipywidgets.widgets.widget_link import Link

from vae_tutorial.widgets import OFFLINE_CLASS, image_slider


def _images(n: int = 5, h: int = 6, w: int = 7) -> torch.Tensor:
    """n images, image k with a bar in column k (so every PNG differs)."""
    imgs = torch.zeros(n, h, w)
    for k in range(n):
        imgs[k, :, k % w] = 1.0
    return imgs


def test_structure_and_links():
    n = 5
    box = image_slider(_images(n), torch.linspace(0, 1, n), description="t",
                       captions=[f"step {k}" for k in range(n)], scale=3)
    assert isinstance(box, widgets.VBox)
    assert OFFLINE_CLASS in box._dom_classes
    slider, stack, notes = box.children
    assert isinstance(slider, widgets.SelectionSlider)
    assert slider.description == "t" and slider.index == 0
    assert [label for label, _ in slider.options] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert isinstance(stack, widgets.Stack) and stack.selected_index == 0
    assert len(stack.children) == n and all(isinstance(c, widgets.Image) for c in stack.children)
    assert [c.value for c in notes.children] == [f"step {k}" for k in range(n)]
    # One Layout (and LabelStyle) model shared by the N images (captions), not N of them.
    assert len({id(c.layout) for c in stack.children}) == 1
    assert len({(id(c.layout), id(c.style)) for c in notes.children}) == 1
    # Front-end links (jslink), one per stack, from the slider's index to selected_index.
    assert len(box.links) == 2
    for link, target in zip(box.links, (stack, notes), strict=True):
        assert type(link) is Link  # not a DirectionalLink, not a Python-side observe
        assert link.source == (slider, "index")
        assert link.target == (target, "selected_index")
    # The PNGs: image k, each pixel drawn scale x scale, black on white.
    pngs = [c.value for c in stack.children]
    assert len(set(pngs)) == n
    for k, png in enumerate(pngs):
        rgba = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert rgba.shape == (6 * 3, 7 * 3, 4)
        dark = rgba[..., 0] < 0.5
        assert dark[:, 3 * k:3 * k + 3].all() and dark.sum() == 6 * 3 * 3
    text = repr(box)
    assert "5 precomputed 6x7 images" in text and "PNG" not in text


def test_without_captions_and_tensor_or_list_values():
    box = image_slider(_images(3), [0.0, 0.5, 1.0], value_format="{:.1f}")
    assert len(box.children) == 2 and len(box.links) == 1
    assert [label for label, _ in box.children[0].options] == ["0.0", "0.5", "1.0"]
    single = image_slider(_images(1), torch.tensor([2.0]))
    assert len(single.children[1].children) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"images": [[[0.0]]]}, TypeError, "images must be a torch.Tensor"),
        ({"images": torch.zeros(2, 3, 3, dtype=torch.long)}, TypeError, "images must be a floa"),
        ({"images": torch.zeros(2, 9)}, ValueError, r"images must have shape \(N, H, W\)"),
        ({"images": torch.zeros(0, 3, 3), "values": []}, ValueError, "N >= 1"),
        ({"images": torch.full((2, 3, 3), 1.5)}, ValueError, r"images must have values in \[0, 1"),
        ({"images": torch.full((2, 3, 3), float("nan"))}, ValueError, "images must be finite"),
        ({"values": [0.0]}, ValueError, "values must hold one value per image, N = 2; got 1"),
        ({"values": torch.zeros(2, 1)}, ValueError, r"values must have shape \(N,\)"),
        ({"values": 0.5}, TypeError, "values must be a sequence"),
        ({"values": [0.0, "1"]}, TypeError, r"values\[1\] must be a real number"),
        ({"values": [0.0, float("inf")]}, ValueError, r"values\[1\] must be finite"),
        ({"values": [0.0, 0.001]}, ValueError, "value_format must give each"),
        ({"description": 3}, TypeError, "description must be a str"),
        ({"value_format": None}, TypeError, "value_format must be a str"),
        ({"captions": "ab"}, TypeError, "captions must be a sequence of str"),
        ({"captions": ["a"]}, ValueError, "captions must hold one caption per image"),
        ({"captions": ["a", 2]}, TypeError, r"captions\[1\] must be a str"),
        ({"scale": 0}, ValueError, "scale must be >= 1"),
        ({"scale": 2.0}, TypeError, "scale must be an int"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    args = {"images": _images(2), "values": [0.0, 1.0]} | kwargs
    with pytest.raises(error, match=match):
        image_slider(args.pop("images"), args.pop("values"), **args)
