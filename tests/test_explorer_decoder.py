r"""Chapter 7's explorers of the trained decoder (:mod:`vae_tutorial.explorers.decoder`).

* Without a browser: the MIME bundle is the Vega-Lite 5 bundle, the sliders carry names with
  units, the summaries are deterministic, bad arguments raise, and the shipped images are the
  decoder's: for a small VAE, every image of each grid, read back as the page reads it
  (``decode_hex``), is within 1/510 of ``torch.sigmoid(model.decode(z))`` at that grid point's
  code ``z``.
* In the page (Chromium, every other host blocked, laptop and phone): the chapter's 20-D model
  is rebuilt from the checkpoint that executing the chapter writes
  (``book/checkpoints/ch7_vae.pt``; the test is skipped without it), with the chapter's start
  code, most active units and 3-to-8 end points recomputed from the data. Each slider is moved
  to at least three values with the keyboard (ArrowRight, End, Home) and a mouse click; after
  each move, the 784 pixel values the page drew equal ``torch.sigmoid(model.decode(z))`` for
  the code ``z`` computed in Python from the sliders' values (to the 1/510 of the 8-bit
  shipping, plus 1e-6), each drawn rect's grey is that value's, the page's code ``z`` equals
  Python's to 1e-9 relative, and the printed lines (the unit, the shift or t, ``‖z‖``, the
  code) are Python's, formatted the same way. Each control answers within 1 s; on the phone
  each track is at least 150 px wide; no page is wider than the screen or over 6.6 MB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from explorer_harness import (  # noqa: F401 (fixtures)
    REL,
    VIEWPORTS,
    base_url,
    browser,
    check_response_times,
    explorer_state_js,
    move_each_control,
    open_explorer,
    response_times,
)

from vae_tutorial import explorers
from vae_tutorial.explorers.decoder import TEXT_WIDTH, decode_hex, hex_images
from vae_tutorial.models import VAE

PAGE = "book/07_vae_on_digits.html"
CHECKPOINT = Path(__file__).resolve().parents[1] / "book" / "checkpoints" / "ch7_vae.pt"
QUANT = 1 / 510 + 1e-6
#: The shift first: at shift 0 every unit gives the same code, so the image cannot change.
TRAVERSAL_CONTROLS = {
    "delta": "shift δ added to that unit (units of z)",
    "rank": "unit moved: rank among the 4 offered (1 = most active)",
}
INTERPOLATION_CONTROLS = {"t": "t, the weight of μ(8) (0 = μ(3), 1 = μ(8))"}
MIME = "application/vnd.vegalite.v5+json"


def _small_vae(latent: int = 5) -> VAE:
    torch.manual_seed(0)
    return VAE(data_dim=784, hidden_dim=16, latent_dim=latent).eval()


def _params(spec: dict) -> dict:
    return {p["name"]: p for p in spec["params"]}


def test_hex_round_trip():
    x = torch.rand(3, 784, generator=torch.Generator().manual_seed(0))
    back = decode_hex(hex_images(x))
    assert back.shape == (3, 784)
    assert (back - x.double()).abs().max() <= 1 / 510 + 1e-12
    assert hex_images(torch.tensor([[0.0, 1.0]])) == ["00ff"]


def test_traversal_spec_ships_the_decoder_images():
    model = _small_vae()
    z0 = torch.randn(5, generator=torch.Generator().manual_seed(1))
    ex = explorers.latent_traversal_explorer(model, z0, [3, 0], span=2.0, steps=9)
    bundle = ex._repr_mimebundle_()
    assert sorted(bundle) == [MIME, "text/plain"]
    assert bundle[MIME]["usermeta"] == {"explorer": "latent_traversal", "panel_width": TEXT_WIDTH}
    json.dumps(bundle[MIME])
    params = _params(ex.spec)
    assert params["rank"]["bind"] == {"input": "range", "min": 1, "max": 2, "step": 1,
                                      "name": "unit moved: rank among the 2 offered "
                                              "(1 = most active) "}
    assert params["delta"]["bind"]["name"].strip() == "shift δ added to that unit (units of z)"
    assert (params["delta"]["bind"]["min"], params["delta"]["bind"]["max"],
            params["delta"]["bind"]["step"]) == (-2.0, 2.0, 0.5)
    assert params["units"]["value"] == [3, 0]
    assert params["z_start"]["value"] == [float(v) for v in z0]
    shipped = decode_hex(params["images"]["value"])
    assert shipped.shape == (18, 784)
    for r, u in enumerate([3, 0]):
        for k in range(9):
            z = z0.double().clone()
            z[u] += -2.0 + 0.5 * k
            with torch.no_grad():
                want = torch.sigmoid(model.decode(z.float()[None]))[0].double()
            assert (shipped[r * 9 + k] - want).abs().max() <= QUANT, (r, k)
    assert ex.summary == repr(ex) == (
        "Latent-traversal explorer: 2 units of a 5-D code, each shifted from -2 to 2 in 9 "
        "steps (interactive in the HTML book and in JupyterLab)")
    again = explorers.latent_traversal_explorer(model, z0, [3, 0], span=2.0, steps=9)
    assert again.to_json() == ex.to_json()


def test_interpolation_spec_ships_the_decoder_images():
    model = _small_vae()
    g = torch.Generator().manual_seed(2)
    za, zb = torch.randn(5, generator=g), torch.randn(5, generator=g)
    ex = explorers.interpolation_explorer(model, za, zb, steps=5, names=("3", "8"))
    bundle = ex._repr_mimebundle_()
    assert sorted(bundle) == [MIME, "text/plain"]
    assert bundle[MIME]["usermeta"] == {"explorer": "interpolation", "panel_width": TEXT_WIDTH}
    params = _params(ex.spec)
    assert params["t"]["bind"] == {"input": "range", "min": 0.0, "max": 1.0, "step": 0.25,
                                   "name": INTERPOLATION_CONTROLS["t"] + " "}
    shipped = decode_hex(params["images"]["value"])
    for k in range(5):
        t = k / 4
        z = (1 - t) * za.double() + t * zb.double()
        with torch.no_grad():
            want = torch.sigmoid(model.decode(z.float()[None]))[0].double()
        assert (shipped[k] - want).abs().max() <= QUANT, k
    assert ex.summary == ("Interpolation explorer: 5 codes on the line from μ(3) to μ(8) in a "
                          "5-D latent space (interactive in the HTML book and in JupyterLab)")


@pytest.mark.parametrize("call, error, match", [
    (lambda m, z: explorers.latent_traversal_explorer(object(), z, [0]), TypeError, "model"),
    (lambda m, z: explorers.latent_traversal_explorer(m, [0.0] * 5, [0]), TypeError, "z_start"),
    (lambda m, z: explorers.latent_traversal_explorer(m, torch.zeros(2, 5), [0]), ValueError,
     "z_start"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, []), ValueError, "units"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [1, 1]), ValueError, "units"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [5]), ValueError, "units"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0.5]), TypeError, "units"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, 3), TypeError, "units"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], span=0.0), ValueError, "span"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], span="3"), TypeError, "span"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], steps=4), ValueError, "steps"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], steps=5.0), TypeError, "steps"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], image_shape=(7, 7)),
     ValueError, "image_shape"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z, [0], image_shape=[28, 28]),
     TypeError, "image_shape"),
    (lambda m, z: explorers.latent_traversal_explorer(m, z * float("nan"), [0]), ValueError,
     "z_start"),
    (lambda m, z: explorers.interpolation_explorer(m, z, z[:3]), ValueError, "z_b"),
    (lambda m, z: explorers.interpolation_explorer(m, z, z, steps=1), ValueError, "steps"),
    (lambda m, z: explorers.interpolation_explorer(m, z, z, names="38"), TypeError, "names"),
    (lambda m, z: explorers.interpolation_explorer(None, z, z), TypeError, "model"),
    (lambda m, z: explorers.interpolation_explorer(m, z.long(), z), TypeError, "z_a"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call(_small_vae(), torch.zeros(5))


def test_hex_images_bad_arguments():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        hex_images(torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="images"):
        hex_images(torch.zeros(784))
    with pytest.raises(TypeError, match="images"):
        hex_images(torch.zeros(1, 4, dtype=torch.long))


# ---------------------------------------------------------------------------------------------
# In the page


@pytest.fixture(scope="module")
def chapter():
    """The chapter's trained 20-D model (from its checkpoint) and the codes the chapter uses."""
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT} is missing: execute book/07_vae_on_digits.ipynb first")
    from vae_tutorial import data, training

    torch.set_num_threads(1)
    model = VAE(data_dim=784, hidden_dim=400, latent_dim=20)
    model.load_state_dict(training.load_checkpoint(CHECKPOINT)["model"])
    model.eval()
    digits = data.load_mnist(seed=0)
    x_test = torch.bernoulli(digits.x_test, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu_t, _ = model.encode(x_test)
        top = mu_t.var(0).argsort(descending=True)[:4].tolist()
        z_start = model.encode(digits.x_test[:1])[0][0]
        a = int((digits.y_test == 3).nonzero()[0])
        b = int((digits.y_test == 8).nonzero()[0])
        mu_ab, _ = model.encode(digits.x_test[[a, b]])
    return {"model": model, "top": top, "z_start": z_start, "z_a": mu_ab[0], "z_b": mu_ab[1]}


STATE_JS = explorer_state_js("""
  const pixels = [];
  walkScene((node) => {  // the drawn rects: their datum (row, col, p) and their fill
    if (node.marktype !== 'rect') return;
    (node.items || []).forEach((it) => { if (it.datum && 'p' in it.datum)
      pixels.push([it.datum.i, it.datum.p, it.fill]); });
    return false;
  });
  pixels.sort((a, b) => a[0] - b[0]);
  // a signal this explorer does not have: null
  const signal = (n) => { try { return view.signal(n); } catch (e) { return null; } };
  return {sliders, texts, pixels, paths: drawn('svg path', ['fill']), z: signal('z'),
          z_norm: signal('z_norm'), moved_unit: signal('moved_unit')};
""")


def _fmt(x: float, spec: str = ".2f") -> str:
    """Python's format as d3-format prints it: no minus sign on a number that rounds to 0."""
    s = format(x, spec)
    return s.replace("-", "") if float(s) == 0 and "-" in s and "+" not in spec else s


def _code_text(z: list[float]) -> str:
    return "z = (" + ", ".join(_fmt(v) for v in z) + ")"


def _normalize(text: str) -> str:
    """Without white space (the page's printed lines run together in one SVG text) and with
    Vega's minus sign as "-"."""
    return "".join(text.replace("\u2212", "-").split())


def _gaps(gaps: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2e}" for k, v in gaps.items()) + f" (1/510 = {1 / 510:.2e})"


def _compare(state: dict, model: VAE, z: torch.Tensor, want_lines: list[str],
             gaps: dict[str, float]) -> float:
    """The page's pixels, grey levels, code, norm and printed text against the package; the
    largest gap of each kind so far is kept in ``gaps``."""
    with torch.no_grad():
        want = torch.sigmoid(model.decode(z.float()[None]))[0].double()    # (784,)
    pix = state["pixels"]
    assert [p[0] for p in pix] == list(range(784)), len(pix)
    page = torch.tensor([p[1] for p in pix], dtype=torch.float64)
    err = (page - want).abs().max().item()
    assert err <= QUANT, ("pixels", err)
    for _, p, fill in pix[::37]:  # the grey of a rect is its value's: white 0 to black 1
        grey = 255 * (1 - p)
        assert fill.startswith("rgb(") and all(abs(int(c) - grey) <= 1.01 for c in
                                               fill[4:-1].split(",")), (fill, p)
    page_z = torch.tensor(state["z"], dtype=torch.float64)
    z_gap = ((page_z - z).abs() / z.abs().clamp(min=1.0)).max().item()
    assert z_gap <= REL, ("z", z_gap)
    norm = z.norm().item()
    n_gap = abs(state["z_norm"] - norm) / max(1.0, norm)
    assert n_gap <= REL, ("norm", state["z_norm"], norm)
    text = _normalize(" ".join(state["texts"]))
    for line in want_lines:
        assert _normalize(line) in text, (line, text)
    for key, gap in (("pixels (abs)", err), ("z (rel)", z_gap), ("norm (rel)", n_gap)):
        gaps[key] = max(gaps.get(key, 0.0), gap)
    return max(err, z_gap, n_gap)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_traversal_in_the_page(browser, base_url, viewport, chapter):  # noqa: F811
    model, top = chapter["model"], chapter["top"]
    z_start = chapter["z_start"].double()
    gaps: dict[str, float] = {}

    def check(state: dict) -> float:
        rank = int(state["sliders"][TRAVERSAL_CONTROLS["rank"]])
        delta = float(state["sliders"][TRAVERSAL_CONTROLS["delta"]])
        unit = top[rank - 1]
        assert state["moved_unit"] == unit
        z = z_start.clone()
        z[unit] = z_start[unit] + delta  # z = z_start + delta e_unit
        lines = [f"unit z[{unit}] (rank {rank} of 4), δ = {_fmt(delta, '+.2f')}",
                 (f"z[{unit}] = {_fmt(z_start[unit].item())} + ({_fmt(delta, '+.2f')}) = "
                  f"{_fmt(z[unit].item())}"),
                 f"‖z‖ = {_fmt(z.norm().item())}",
                 _code_text(z.tolist())]
        return _compare(state, model, z, lines, gaps)

    with open_explorer(browser, base_url, PAGE, "latent_traversal", viewport) as (
            page, handle, log):
        _, values = move_each_control(page, handle, viewport, TRAVERSAL_CONTROLS,
                                            STATE_JS, check)
        times = (response_times(page, handle, [TRAVERSAL_CONTROLS["delta"]],
                                ("1.5", "-0.5", "2.75"))
                 + response_times(page, handle, [TRAVERSAL_CONTROLS["rank"]], ("2", "4", "1")))
    check_response_times(times)
    print(f"\n{viewport}: latent traversal, values {values}; largest difference page vs "
          f"package {_gaps(gaps)}; slowest answer {max(times):.1f} ms; "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_interpolation_in_the_page(browser, base_url, viewport, chapter):  # noqa: F811
    model = chapter["model"]
    z_a, z_b = chapter["z_a"].double(), chapter["z_b"].double()
    gaps: dict[str, float] = {}

    def check(state: dict) -> float:
        t = float(state["sliders"][INTERPOLATION_CONTROLS["t"]])
        z = (1 - t) * z_a + t * z_b  # z(t) = (1 - t) mu(3) + t mu(8)
        lines = [f"t = {_fmt(t)}: z = {_fmt(1 - t)} μ(3) + {_fmt(t)} μ(8)",
                 f"‖z‖ = {_fmt(z.norm().item())}", _code_text(z.tolist())]
        return _compare(state, model, z, lines, gaps)

    with open_explorer(browser, base_url, PAGE, "interpolation", viewport) as (
            page, handle, log):
        _, values = move_each_control(page, handle, viewport, INTERPOLATION_CONTROLS,
                                            STATE_JS, check)
        times = response_times(page, handle, INTERPOLATION_CONTROLS.values(),
                               ("0.5", "0.25", "1"))
    check_response_times(times)
    print(f"\n{viewport}: interpolation, values {values}; largest difference page vs "
          f"package {_gaps(gaps)}; slowest answer {max(times):.1f} ms; "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB")
