"""The grader's kit ``vae_tutorial.testing`` (issue 13, item 2).

Each of the ten typical wrong submissions is caught, and correct submissions written without the
package (by formula, with ``torch.distributions``, a max-shift log-mean-exp) pass, in float64
and float32. The exact-evidence models are checked against independent routes (prior Monte Carlo
for the tiny VAE's quadrature, the package's importance-sampled estimate).
"""

from __future__ import annotations

import math

import _submissions as sub
import pytest
import torch

from vae_tutorial import estimators, losses, testing

F64 = torch.float64


def _check(name):
    return getattr(testing, f"check_{name}")


# --- the ten wrong submissions ------------------------------------------------------------------


@pytest.mark.parametrize("label", list(sub.WRONG))
def test_each_wrong_submission_is_caught(label):
    name, fn = sub.WRONG[label]
    with pytest.raises(testing.SubmissionError) as info:
        _check(name)(fn)
    report = info.value.report
    assert not report.passed and report.n_failed >= 1
    # the message names the function, the failing case, and both values
    message = str(info.value)
    assert message.startswith(f"{fn.__name__}: {report.n_failed} of {len(report.results)} cases")
    first = report.failures[0]
    assert first.name in message and first.message in message
    assert ("expected" in first.message and ("received" in first.message)
            or "raised" in first.message)


# where each one shows first: saturated logits, underflowing weights, K > 1 among them
FIRST_FAILURE = {
    "summed over K": "K samples: logits (K=5",
    "computed through probabilities": "saturated logits (|logit| = 40)",
    "IWAE through exp/log": "underflowing weights",
    "summed over the batch": "reduction='mean'",
}


@pytest.mark.parametrize("label", list(FIRST_FAILURE))
def test_the_first_failure_is_the_telling_case(label):
    name, fn = sub.WRONG[label]
    report = _check(name)(fn, raise_on_failure=False)
    assert FIRST_FAILURE[label] in report.failures[0].name, report.failures[0].name


# caught by the properties alone, with no reference at all
BY_PROPERTIES = ["KL sign flipped", "reconstruction averaged over pixels", "IWAE through exp/log",
                 "no - log K", "logsumexp over the wrong dim",
                 "the ELBO handed in as the IWAE bound"]


@pytest.mark.parametrize("label", BY_PROPERTIES)
def test_properties_alone_catch_these(label):
    name, fn = sub.WRONG[label]
    report = _check(name)(fn, reference=False, raise_on_failure=False)
    assert not report.passed
    assert all(r.name.startswith("[property]") for r in report.results)


def test_the_elbo_handed_in_as_iwae_fails_the_rise_with_k():
    report = testing.check_iwae_bound(sub.iwae_is_the_elbo, reference=False,
                                      raise_on_failure=False)
    names = [r.name for r in report.failures]
    assert any("rising with K" in n for n in names) and any("Jensen" in n for n in names)


def test_a_failure_prints_expected_and_received_values():
    report = testing.check_iwae_bound(sub.iwae_without_log_k, raise_on_failure=False)
    first = report.failures[0]
    assert first.name == "typical (K=5, B=3), float64, reduction='none'"
    w = torch.Generator().manual_seed(0)
    lw = 2.0 * torch.randn(5, 3, generator=w, dtype=F64)  # the kit's first case, same seed
    expected = losses.iwae_bound(lw, reduction="none")
    assert f"expected {float(expected[0]):.10g}, received {float(expected[0]) + math.log(5):.10g}" \
        in first.message


# --- correct submissions pass -------------------------------------------------------------------

CORRECT = [
    ("elbo", sub.elbo_by_formula),
    ("elbo", sub.elbo_with_distributions),
    ("iwae_bound", sub.iwae_by_logsumexp),
    ("iwae_bound", sub.iwae_by_max_shift),
    ("elbo_mc", sub.elbo_mc_by_mean),
    ("kl_normal_std_normal", sub.kl_with_distributions),
    ("kl_normal_normal", sub.kl_normal_normal_with_distributions),
    ("log_normal_diag", sub.log_normal_diag_with_distributions),
    ("log_bernoulli", sub.log_bernoulli_with_distributions),
    ("log_standard_normal", sub.log_standard_normal_with_distributions),
]


@pytest.mark.parametrize(("name", "fn"), CORRECT, ids=[f.__name__ for _, f in CORRECT])
def test_correct_submissions_pass(name, fn):
    report = _check(name)(fn)
    assert report.passed and report.score == 1.0 and len(report.results) >= 20


@pytest.mark.parametrize("name", ["log_normal_diag", "log_standard_normal", "log_bernoulli",
                                  "kl_normal_std_normal", "kl_normal_normal", "elbo",
                                  "negative_elbo", "elbo_mc", "iwae_bound"])
def test_the_package_passes_its_own_checks(name):
    assert _check(name)(getattr(losses, name)).passed


def test_negative_elbo_catches_a_sign_slip():
    with pytest.raises(testing.SubmissionError, match=r"-ELBO above the exact -log p\(x\)"):
        testing.check_negative_elbo(losses.elbo)


def test_a_fixed_reduction_homework_is_called_without_the_keyword():
    def my_elbo(x, logits, mu, logvar):  # per example, shape (B,)
        return sub.elbo_by_formula(x, logits, mu, logvar, reduction="none")

    assert testing.check_elbo(my_elbo, reduction="none").passed
    with pytest.raises(testing.SubmissionError, match=r"expected shape \(\), received shape "
                                                      r"\(3,\) \(no reduction over the batch\?\)"):
        testing.check_elbo(my_elbo, reduction="mean")


def test_grey_targets_are_opt_in_since_torch_distributions_refuses_them():
    report = testing.check_log_bernoulli(sub.log_bernoulli_with_distributions,
                                         grey_targets=True, raise_on_failure=False)
    assert {"grey targets" in r.name for r in report.failures} == {True}
    assert testing.check_log_bernoulli(losses.log_bernoulli, grey_targets=True).passed


def test_float32_only_and_bad_arguments():
    assert testing.check_kl_normal_std_normal(sub.kl_with_distributions,
                                              dtypes=(torch.float32,)).passed
    with pytest.raises(ValueError, match=r"dtypes must hold dtypes of TOLERANCES"):
        testing.check_iwae_bound(sub.iwae_by_logsumexp, dtypes=(torch.float16,))
    with pytest.raises(ValueError, match=r"reduction must be None, 'none', 'mean' or 'sum'"):
        testing.check_iwae_bound(sub.iwae_by_logsumexp, reduction="avg")
    with pytest.raises(TypeError, match=r"fn must be a function; got int"):
        testing.check_elbo(3)


def test_detached_results_and_in_place_edits_are_reported():
    def detached(log_weights, *, reduction="mean"):
        return sub.iwae_by_logsumexp(log_weights, reduction=reduction).detach()

    def in_place(log_weights, *, reduction="mean"):
        log_weights -= 0.0 * log_weights + 1.0
        return sub.iwae_by_logsumexp(log_weights + 1.0, reduction=reduction)

    report = testing.check_iwae_bound(detached, properties=False, raise_on_failure=False)
    assert [r.name for r in report.failures] == [
        "typical (K=5, B=3): gradients with respect to log_weights, float64"]
    assert "carries no gradient" in report.failures[0].message
    report = testing.check_iwae_bound(in_place, properties=False, raise_on_failure=False)
    assert "modified its argument 1 in place" in report.failures[0].message


# --- log_likelihood-style estimators ------------------------------------------------------------


def test_log_likelihood_checks():
    assert testing.check_log_likelihood(estimators.log_likelihood).passed

    def negative(model, x, k):
        return -estimators.log_likelihood(model, x, k)

    def mean_over_batch(model, x, k):
        return estimators.log_likelihood(model, x, k).mean()

    def no_log_k(model, x, k):
        return estimators.log_likelihood(model, x, k) + math.log(k)

    def elbo_estimate(model, x, k):
        return losses.elbo_mc(model.log_weights(x, k), reduction="none")

    for fn, match in ((negative, "the negative of log p"), (mean_over_batch, r"shape \(6,\)"),
                      (no_log_k, "accepted"), (elbo_estimate, "accepted")):
        with pytest.raises(testing.SubmissionError, match=match):
            testing.check_log_likelihood(fn)


# --- the models with exact evidence --------------------------------------------------------------


@pytest.mark.parametrize("latent_dim", [1, 2])
def test_quadrature_evidence_is_converged_and_agrees_with_prior_monte_carlo(latent_dim):
    model = testing.tiny_bernoulli_vae(latent_dim=latent_dim)
    x = torch.rand(4, 8, generator=torch.Generator().manual_seed(1), dtype=F64).round()
    exact = testing.quadrature_log_evidence(model, x)
    fine = testing.quadrature_log_evidence(model, x, n_per_dim=800, lim=8.0)
    torch.testing.assert_close(exact, fine, rtol=0, atol=1e-9)
    # p(x) = E_{p(z)}[p(x|z)], 400,000 draws, within 4 standard errors of the log estimate
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        z = torch.randn(400_000, 1, latent_dim, generator=g, dtype=F64)
        lik = losses.log_bernoulli(x, model.decode(z)).exp()  # (N, B)
    mc = lik.mean(0).log()
    se = lik.std(0) / math.sqrt(z.shape[0]) / lik.mean(0)
    assert ((mc - exact).abs() < 4 * se).all(), (mc - exact, se)


def test_vae_log_joint_is_the_decoder_likelihood_plus_the_prior():
    model = testing.tiny_bernoulli_vae()
    x = torch.ones(3, 8, dtype=F64)
    z = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    with torch.no_grad():
        logits = model.decode(z)
        expected = (torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
                    + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1))
        torch.testing.assert_close(testing.vae_log_joint(model, x, z), expected)


def test_tiny_vae_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = testing.tiny_bernoulli_vae(), testing.tiny_bernoulli_vae()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(ValueError, match="latent_dim must be 1 or 2"):
        testing.tiny_bernoulli_vae(latent_dim=3)
