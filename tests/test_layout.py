"""The package's layout (issue 12): one concept per module, none over 700 lines, no private name
imported across modules, ``import vae_tutorial.losses`` light, and the old import paths working
for one release with a ``DeprecationWarning`` that names the new home.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vae_tutorial"
MODULES = sorted(PACKAGE.rglob("*.py"))
HEAVY = {"tqdm", "matplotlib", "sklearn", "mlxtend", "IPython", "scipy", "pandas"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_700_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= 700, f"{path.relative_to(PACKAGE)} has {n} lines; split it by concept"


def test_no_private_name_imported_across_modules():
    bad = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vae_tutorial"):
                bad += [
                    f"{path.relative_to(PACKAGE)}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and a.name != "__all__"
                ]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                # module._name, e.g. estimators._log_joint
                if node.attr.startswith("_") and not node.attr.startswith("__"):
                    if node.value.id in {"losses", "estimators", "models", "training", "joint",
                                         "sampling", "surrogates", "quadrature", "variational",
                                         "checkpoints", "plotting", "data"}:
                        bad.append(f"{path.relative_to(PACKAGE)}: {node.value.id}.{node.attr}")
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(ast.literal_eval(out.stdout.strip()))


def test_importing_losses_imports_no_heavy_dependency():
    # a fresh interpreter: what `import vae_tutorial.losses` adds to what `import torch` loads
    # (torch itself imports tqdm, for torch.hub)
    added = _modules_after("import torch, vae_tutorial.losses") - _modules_after("import torch")
    assert not {m for m in added if m.split(".")[0] in HEAVY}, sorted(added)
    ours = sorted(m for m in added if m.startswith("vae_tutorial"))
    assert ours == ["vae_tutorial", "vae_tutorial._checks", "vae_tutorial.losses"], ours


def test_submodules_load_lazily_on_attribute_access():
    import vae_tutorial

    assert vae_tutorial.estimators is importlib.import_module("vae_tutorial.estimators")
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = vae_tutorial.nonexistent


def _fresh_inference():
    sys.modules.pop("vae_tutorial.inference", None)
    with pytest.warns(DeprecationWarning, match="vae_tutorial.inference is deprecated"):
        return importlib.import_module("vae_tutorial.inference")


def test_inference_shim_warns_on_import_and_names_the_new_home():
    inference = _fresh_inference()
    from vae_tutorial import estimators, joint, quadrature, variational

    homes = {
        "make_grid": quadrature.make_grid,
        "grid_log_evidence": quadrature.grid_log_evidence,
        "grid_posterior": quadrature.grid_posterior,
        "evidence_cost_study": quadrature.evidence_cost_study,
        "kl_quadrature_1d": quadrature.kl_quadrature_1d,
        "MonteCarloEstimate": estimators.MonteCarloEstimate,
        "kl_monte_carlo": estimators.kl_monte_carlo,
        "kl_normal_mc": estimators.kl_normal_mc,
        "entropy_normal_diag": joint.entropy_normal_diag,
        "FitResult": variational.FitResult,
        "LinearEncoder": variational.LinearEncoder,
        "fit_per_datapoint": variational.fit_per_datapoint,
        "fit_amortized": variational.fit_amortized,
        "fit_gaussian_1d": variational.fit_gaussian_1d,
        "variational_em": variational.variational_em,
    }
    assert set(homes) | {
        "expected_log_likelihood", "expected_log_joint", "linear_gaussian_elbo",
        "kl_to_posterior", "optimal_diagonal_q", "prior_mc_log_evidence",
    } == set(inference.__all__)
    for name, new in homes.items():
        home = re.escape(".".join(inference.MOVED[name]))
        with pytest.warns(DeprecationWarning, match=f"inference.{name} is deprecated: use {home}"):
            assert getattr(inference, name) is new, name
    with pytest.raises(AttributeError):
        _ = inference.nonexistent


def test_inference_shim_closed_forms_are_the_linear_gaussian_methods():
    import torch

    from vae_tutorial import estimators
    from vae_tutorial.models import LinearGaussian

    inference = _fresh_inference()
    model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
    g = torch.Generator().manual_seed(0)
    x, _ = model.sample(4, generator=g)
    mu = torch.randn(4, 2, dtype=torch.float64, generator=g)
    logvar = torch.randn(4, 2, dtype=torch.float64, generator=g) - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pairs = [
            (inference.linear_gaussian_elbo(model, x, mu, logvar), model.elbo(x, mu, logvar)),
            (inference.kl_to_posterior(model, x, mu, logvar), model.kl_to_posterior(x, mu, logvar)),
            (inference.expected_log_joint(model, x, mu, logvar),
             model.expected_log_joint(x, mu, logvar)),
            (inference.expected_log_likelihood(model, x, mu, logvar),
             model.expected_log_likelihood(x, mu, logvar)),
            (inference.optimal_diagonal_q(model, x)[1], model.optimal_diagonal_q(x)[1]),
        ]
        eps = torch.randn(500, 2, dtype=torch.float64, generator=g)
        pairs.append((
            inference.prior_mc_log_evidence(model, x, 500, eps=eps, chunk_size=128),
            estimators.naive_monte_carlo(model, x, 500, eps=eps, shared_noise=True).log_evidence,
        ))
        for old, new in pairs:
            assert torch.equal(old, new)
        with pytest.raises(TypeError, match="model must be a models.LinearGaussian"):
            inference.linear_gaussian_elbo(object(), x, mu, logvar)


def test_evidence_estimate_is_the_one_result_type_with_a_warning():
    from vae_tutorial import estimators

    with pytest.warns(DeprecationWarning, match="use|return vae_tutorial.estimators.MonteCarlo"):
        assert estimators.EvidenceEstimate is estimators.MonteCarloEstimate


def test_old_import_paths_of_moved_modules_still_import():
    from vae_tutorial import plotting, training
    from vae_tutorial.checkpoints import CheckpointError, load_checkpoint
    from vae_tutorial.models import VAE, GaussianMixture, LinearGaussian  # noqa: F401

    assert training.load_checkpoint is load_checkpoint
    assert training.CheckpointError is CheckpointError
    assert callable(plotting.plot_bound_vs_k) and callable(plotting.styled)
