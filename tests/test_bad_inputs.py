"""Bad input, tried as a careless user would (issue 11, item 3).

Each case either raises a ``TypeError``/``ValueError`` whose message names the argument, what was
expected and what came, or, where the answer is mathematically right, returns it (a sum over an
empty batch is 0; the pathwise gradient of a constant is 0; float32 data on a float64 model are
converted to float64, exactly). Before the fix these gave "math domain error", nan, an
``IndexError``, an ``AttributeError``, torch/NumPy-internal messages, a silently wrong gradient, an
error about an internal ``z``, a matmul dtype error or a ``ZeroDivisionError``; every test here
fails against that code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_tutorial import estimators, losses, sampling, training
from vae_tutorial.models import VAE, LinearGaussian

F64 = torch.float64


def _square(z: torch.Tensor) -> torch.Tensor:
    return (z**2).sum(-1)


@pytest.fixture
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(data_dim=6, hidden_dim=4, latent_dim=2)


@pytest.fixture
def grey() -> torch.Tensor:
    """10 grey-valued images in [0, 1]: not divisible by the batch size 4 used below."""
    return torch.rand(10, 6, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def lg() -> LinearGaussian:
    return LinearGaussian.random(data_dim=2, latent_dim=1, seed=0).requires_grad_(False)


# K = 0 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [losses.iwae_bound, losses.elbo_mc, estimators.log_mean_exp,
     estimators.effective_sample_size],
    ids=["iwae_bound", "elbo_mc", "log_mean_exp", "effective_sample_size"],
)
def test_zero_samples_name_log_weights(fn):
    # before: "math domain error" (log 0) for iwae_bound/log_mean_exp, nan for the other two
    with pytest.raises(ValueError, match=r"log_weights must have at least 1 sample along dim 0 "
                                         r"\(K >= 1\); got shape \(0, 3\)"):
        fn(torch.zeros(0, 3))


def test_zero_samples_along_another_dim_names_that_dim():
    with pytest.raises(ValueError, match=r"log_weights .* along dim 1 .*got shape \(3, 0\)"):
        estimators.log_mean_exp(torch.zeros(3, 0), dim=1)


# an empty batch ---------------------------------------------------------------------------------

_EMPTY = {
    "kl_normal_std_normal": (lambda **kw: losses.kl_normal_std_normal(
        torch.zeros(0, 2), torch.zeros(0, 2), **kw), "mu"),
    "kl_normal_normal": (lambda **kw: losses.kl_normal_normal(
        torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(2), torch.zeros(2), **kw), "mu_q"),
    "elbo": (lambda **kw: losses.elbo(
        torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0, 2), torch.zeros(0, 2), **kw), "x"),
    "iwae_bound": (lambda **kw: losses.iwae_bound(torch.zeros(5, 0), **kw), "log_weights"),
    "elbo_mc": (lambda **kw: losses.elbo_mc(torch.zeros(5, 0), **kw), "log_weights"),
    "log_normal_diag": (lambda **kw: losses.log_normal_diag(
        torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, 2), **kw), "x"),
    "log_standard_normal": (lambda **kw: losses.log_standard_normal(
        torch.zeros(0, 2), **kw), "z"),
    "log_bernoulli": (lambda **kw: losses.log_bernoulli(
        torch.zeros(0, 3), torch.zeros(0, 3), **kw), "x"),
}


@pytest.mark.parametrize("name", list(_EMPTY))
def test_mean_of_an_empty_batch_raises_and_the_sum_is_zero(name):
    fn, arg = _EMPTY[name]
    # before: tensor(nan) (a mean over no examples)
    with pytest.raises(ValueError, match=rf"reduction='mean' needs at least one example, but "
                                         rf"{arg} has an empty batch"):
        fn(reduction="mean")
    # documented as right: the empty sum is 0, and "none" gives the empty batch
    assert float(fn(reduction="sum")) == 0.0
    assert fn(reduction="none").shape == (0,)


# dim out of range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn", [estimators.log_mean_exp, estimators.effective_sample_size,
           estimators.log_standard_error],
    ids=["log_mean_exp", "effective_sample_size", "log_standard_error"],
)
def test_dim_out_of_range_names_dim_and_the_shape(fn):
    # before: IndexError "Dimension out of range ..." / "tuple index out of range"
    with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\] for log_weights of shape "
                                         r"\(4, 3\); got 5"):
        fn(torch.zeros(4, 3), dim=5)
    with pytest.raises(TypeError, match=r"dim must be an int; got str '0'"):
        fn(torch.zeros(4, 3), dim="0")


def test_log_mean_exp_other_dims_still_work():
    lw = torch.log(torch.tensor([[1.0, 3.0]]))  # (1, 2): the samples along dim 1 (and -1)
    for dim in (1, -1):
        torch.testing.assert_close(estimators.log_mean_exp(lw, dim=dim).exp(), torch.tensor([2.0]))


# NumPy inputs: a TypeError that says a torch.Tensor is expected (not converted) ------------------

_NUMPY = {
    "iwae_bound": (lambda a: losses.iwae_bound(a), "log_weights"),
    "log_mean_exp": (lambda a: estimators.log_mean_exp(a), "log_weights"),
    "kl_normal_std_normal": (lambda a: losses.kl_normal_std_normal(a, a), "mu"),
    "gradient_variance": (lambda a: sampling.gradient_variance("score", _square, a, a), "mu"),
    "evaluate": (lambda a: training.evaluate(_VAE6, a), "x"),
    "score_function_gradient eps": (lambda a: sampling.score_function_gradient(
        _square, torch.zeros(1), torch.zeros(1), 3, eps=a), "eps"),
    "naive_monte_carlo eps": (lambda a: estimators.naive_monte_carlo(
        LinearGaussian.random(), torch.zeros(3, 2, dtype=F64), 3, eps=a), "eps"),
}
_VAE6 = VAE(data_dim=6, hidden_dim=4, latent_dim=2)
_NUMPY_SHAPES = {"evaluate": (3, 6), "score_function_gradient eps": (3, 1),
                 "naive_monte_carlo eps": (3, 3, 1)}


@pytest.mark.parametrize("name", list(_NUMPY))
def test_numpy_input_gets_a_type_error_naming_the_argument(name):
    fn, arg = _NUMPY[name]
    a = np.zeros(_NUMPY_SHAPES.get(name, (3, 2)))
    # before: AttributeError ("no attribute 'detach'/'to'") for gradient_variance and evaluate,
    # a float64 result from score_function_gradient, an error about "z" in naive_monte_carlo
    with pytest.raises(TypeError, match=rf"{arg} must be a torch\.Tensor; got ndarray "
                                        r"\(convert it with torch\.as_tensor\)"):
        fn(a)


# seeds ------------------------------------------------------------------------------------------

_SEEDED = {
    "seed_everything": lambda s, m, x: training.seed_everything(s),
    "train": lambda s, m, x: training.train(m, x, epochs=1, batch_size=4, seed=s, progress=False),
    "evaluate": lambda s, m, x: training.evaluate(m, x, seed=s),
    "log_likelihood": lambda s, m, x: estimators.log_likelihood(m, x.round(), k=2, seed=s),
    "LinearGaussian.random": lambda s, m, x: LinearGaussian.random(seed=s),
}


@pytest.mark.parametrize("name", list(_SEEDED))
@pytest.mark.parametrize(
    ("seed", "exc", "got"),
    [("0", TypeError, "str '0'"), (1.5, TypeError, r"float 1\.5"),
     (None, TypeError, "NoneType None"), (True, TypeError, "bool True"),
     (2**70, ValueError, str(2**70)), (-1, ValueError, "-1")],
)
def test_bad_seed_names_seed_and_the_range(name, seed, exc, got, vae, grey):
    # before: NumPy/torch-internal messages ("Cannot cast scalar from dtype('<U1')", "manual_seed
    # expected a long", "Overflow when unpacking long long", "Seed must be between 0 and 2**32 - 1")
    with pytest.raises(exc, match=rf"^seed must be an int in \[0, 2\*\*32 - 1\]; got {got}$"):
        _SEEDED[name](seed, vae, grey)


def test_numpy_integer_seed_is_accepted():
    a = training.seed_everything(np.int64(3)).initial_seed()
    assert a == training.seed_everything(3).initial_seed() == 3


# eps --------------------------------------------------------------------------------------------


def test_integer_eps_is_refused_by_score_function_gradient():
    # before: accepted, and (eps^2 - 1) / 2 in integers gave grad_logvar = 0 (true value 1 here)
    eps = torch.ones(3, 1, dtype=torch.long)
    with pytest.raises(TypeError, match=r"eps must be a floating-point tensor; got dtype "
                                        r"torch\.int64"):
        sampling.score_function_gradient(_square, torch.ones(1), torch.zeros(1), 3, eps=eps)


def test_integer_eps_in_naive_monte_carlo_blames_eps_not_z(lg):
    eps = torch.ones(3, 2, 1, dtype=torch.long)
    # before: "z must be a floating-point tensor" (z is internal)
    with pytest.raises(TypeError, match=r"^eps must be a floating-point tensor"):
        estimators.naive_monte_carlo(lg, torch.zeros(2, 2, dtype=F64), 3, eps=eps)


# importance_sampling: the proposal's shape --------------------------------------------------------


def test_importance_sampling_wrong_latent_size_names_mu(lg):
    x, mu = torch.zeros(3, 2, dtype=F64), torch.zeros(3, 2, dtype=F64)
    # before: "z must have last dim L=1; got shape (4, 3, 2)" (z is internal)
    with pytest.raises(ValueError, match=r"^mu must have last dim model\.latent_dim=1; got shape "
                                         r"\(3, 2\)"):
        estimators.importance_sampling(lg, x, mu, mu, 4)


def test_importance_sampling_batch_mismatch_names_mu_and_x(lg):
    x, mu = torch.zeros(3, 2, dtype=F64), torch.zeros(5, 1, dtype=F64)
    # before: "x must broadcast with mu (4, 5, 2) ..." (the shape of the internal z, called mu)
    with pytest.raises(ValueError, match=r"^mu must have the batch shape of x \(3,\) plus a "
                                         r"latent dim; got \(5, 1\)"):
        estimators.importance_sampling(lg, x, mu, mu, 4)


# dtypes: converted to the model's (documented) ---------------------------------------------------


def test_float32_inputs_on_a_float64_linear_gaussian_are_converted(lg):
    x64 = torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=F64)  # exactly representable in float32
    z64 = torch.tensor([[[0.5]], [[-1.5]]], dtype=F64)  # (K, B, L) = (2, 1, 1)
    expected = lg.log_joint(x64, z64)
    # before: "expected m1 and m2 to have the same dtype, but got: float != double"
    for x, z in ((x64, z64.float()), (x64.float(), z64.float()), (x64.float(), z64)):
        got = lg.log_joint(x, z)
        assert got.dtype == F64
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    mu, logvar = torch.zeros(2, 1), torch.zeros(2, 1)
    eps = torch.tensor([[[0.5], [1.0]], [[-1.0], [0.0]]])  # (K, B, L) = (2, 2, 1)
    est = estimators.importance_sampling(lg, x64.float(), mu, logvar, 2, eps=eps)
    ref = estimators.importance_sampling(lg, x64, mu.double(), logvar.double(), 2,
                                         eps=eps.double())
    torch.testing.assert_close(est.log_weights, ref.log_weights)


def test_float64_data_on_a_float32_vae_are_converted_in_train_and_evaluate(grey):
    runs = []
    for x in (grey, grey.double()):
        torch.manual_seed(0)
        model = VAE(data_dim=6, hidden_dim=4, latent_dim=2)
        # before: "mat1 and mat2 must have the same dtype, but got Double and Float"
        history = training.train(model, x, x[:7], epochs=2, batch_size=4, beta=0.5, seed=3,
                                 progress=False)
        runs.append((history.train_elbo, history.val_elbo,
                     training.evaluate(model, x, batch_size=3, beta=0.5)))
    assert runs[0] == runs[1]


def test_vae_encode_names_both_dtypes(vae, grey):
    # a module method does not convert: the message says how
    with pytest.raises(TypeError, match=r"x must have the model's dtype torch\.float32; got "
                                        r"torch\.float64"):
        vae.encode(grey.double())


# LinearGaussian(noise_std=...) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("noise_std", "exc", "got"),
    [(True, TypeError, r"\(a float\); got bool True"),
     (math.inf, ValueError, r"\(finite, > 0\); got inf"),
     (-math.inf, ValueError, r"\(finite, > 0\); got -inf"),
     ("1", TypeError, r"\(a float\); got str '1'")],
)
def test_linear_gaussian_noise_std_must_be_a_finite_positive_number(noise_std, exc, got):
    # before: True gave sigma = 1 and inf gave log sigma = inf, silently; "1" a ValueError
    with pytest.raises(exc, match=rf"^noise_std must be a positive number {got}$"):
        LinearGaussian(torch.ones(2, 1), torch.zeros(2), noise_std=noise_std)


# pathwise gradient of a constant ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1,), (3, 2)])
def test_pathwise_gradient_of_a_constant_is_zero(shape):
    mu, logvar = torch.ones(shape), torch.zeros(shape)
    # before: RuntimeError "element 0 of tensors does not require grad and does not have a grad_fn"
    g_mu, g_logvar = sampling.pathwise_gradient(
        lambda z: torch.full(z.shape[:-1], 7.0), mu, logvar, 5,
        generator=torch.Generator().manual_seed(0))
    assert torch.equal(g_mu, torch.zeros(shape)) and torch.equal(g_logvar, torch.zeros(shape))


# log_likelihood: the input range under validation -------------------------------------------------


@pytest.mark.parametrize("value", [2.0, -0.5])
def test_log_likelihood_refuses_x_outside_0_1(vae, value):
    x = torch.full((2, 6), value)
    # before: validation was switched off inside and a number came back
    with pytest.raises(ValueError, match=r"^x must lie in \[0, 1\] \(Bernoulli targets\); got "
                                         rf"values in \[{value:g}, {value:g}\]"):
        estimators.log_likelihood(vae, x, k=3)
    assert losses.is_validation_enabled()
    with losses.validation(False):  # switched off by the caller: not checked (documented)
        assert estimators.log_likelihood(vae, x, k=3).shape == (2,)


# training: empty data ---------------------------------------------------------------------------


def test_train_with_empty_training_data_names_x_train(vae):
    # before: ZeroDivisionError "float division by zero" after an epoch of nothing
    with pytest.raises(ValueError, match=r"^x_train must hold at least one example \(N >= 1\); "
                                         r"got shape \(0, 6\)"):
        training.train(vae, torch.zeros(0, 6), epochs=1, progress=False)


def test_train_with_an_empty_validation_set_names_x_val(vae, grey):
    with pytest.raises(ValueError, match=r"^x_val must hold at least one example"):
        training.train(vae, grey, torch.zeros(0, 6), epochs=1, batch_size=4, progress=False)


def test_evaluate_checks_its_inputs(vae, grey):
    # before: ZeroDivisionError, and "range() arg 3 must not be zero"
    with pytest.raises(ValueError, match=r"^x must hold at least one example"):
        training.evaluate(vae, torch.zeros(0, 6))
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1; got 0"):
        training.evaluate(vae, grey, batch_size=0)
    with pytest.raises(ValueError, match=r"^x must have shape \(N, 6\) to match model\.data_dim"):
        training.evaluate(vae, grey[:, :5])
