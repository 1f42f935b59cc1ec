"""The generated inputs of the grader's kit: batch shapes, K-sample shapes, saturated logits,
underflowing weights, extreme log-variances.

Part of :mod:`vae_tutorial.testing`; introduced on the page "Using the package in homework".
"""

from __future__ import annotations

import math

import torch

from vae_tutorial.testing.report import F64, B, Case, D, K, L

# --------------------------------------------------------------------------------------------
# Generated inputs
# --------------------------------------------------------------------------------------------


def rand(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(shape, generator=g, dtype=F64)


def binary(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=F64).round()


def extreme_logvar(*shape: int) -> torch.Tensor:
    # log-variances +-30 alternating (variances 1e-13 and 1e13), and +-10 in between
    pattern = torch.tensor([-30.0, 30.0, -10.0, 10.0], dtype=F64)
    n = math.prod(shape)
    return pattern.repeat(n // 4 + 1)[:n].reshape(shape)


def saturated_logits(g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    # |logit| = 40 (sigmoid rounds to 1 in float64 and float32), agreeing with x or not
    sign = torch.where(torch.rand(x.shape, generator=g, dtype=F64) < 0.5, -1.0, 1.0)
    return 40.0 * sign.to(F64)


def gaussian_cases(g: torch.Generator) -> list[Case]:
    """(x, mu, logvar) cases for log_normal_diag."""
    cases = []
    for shape, what in (((B, L), f"B={B}, L={L}"), ((1, L), "one example"),
                        ((2, B, L), "two batch dims")):
        cases.append(Case(f"typical ({what})", (rand(g, *shape), rand(g, *shape),
                                                 rand(g, *shape))))
    cases.append(Case(f"K samples x (K={K}, B={B}, L={L}) against mu, logvar (B, L)",
                       (rand(g, K, B, L), rand(g, B, L), rand(g, B, L))))
    lv = extreme_logvar(B, 4)
    mu = rand(g, B, 4)
    cases.append(Case("extreme log-variances (logvar = +-30, +-10)",
                       (mu + torch.exp(0.5 * lv) * rand(g, B, 4), mu, lv)))
    return cases


def kl_cases(g: torch.Generator) -> list[Case]:
    """(mu, logvar) cases for kl_normal_std_normal."""
    return [
        Case(f"typical (B={B}, L={L})", (rand(g, B, L), rand(g, B, L))),
        Case("one example", (rand(g, 1, L), rand(g, 1, L))),
        Case("two batch dims", (rand(g, 2, B, L), rand(g, 2, B, L))),
        Case("extreme log-variances (logvar = +-30, +-10)", (rand(g, B, 4),
                                                              extreme_logvar(B, 4))),
        Case("q = p (KL = 0)", (torch.zeros(B, L, dtype=F64), torch.zeros(B, L, dtype=F64))),
        Case("far means (|mu| ~ 1000)", (rand(g, B, L, scale=1000.0), rand(g, B, L))),
    ]


def elbo_cases(g: torch.Generator, *, samples: bool, beta: bool, grey: bool) -> list[Case]:
    """(x, logits, mu, logvar) cases for elbo."""
    cases = []
    x = binary(g, B, D)
    cases.append(Case(f"typical (B={B}, D={D}, L={L}, one sample)",
                       (x, rand(g, B, D, scale=2.0), rand(g, B, L), rand(g, B, L))))
    cases.append(Case("one example", (binary(g, 1, D), rand(g, 1, D), rand(g, 1, L),
                                       rand(g, 1, L))))
    cases.append(Case("two batch dims", (binary(g, 2, B, D), rand(g, 2, B, D),
                                          rand(g, 2, B, L), rand(g, 2, B, L))))
    if grey:
        cases.append(Case("grey targets in [0, 1]", (torch.rand(B, D, generator=g, dtype=F64),
                                                       rand(g, B, D), rand(g, B, L),
                                                       rand(g, B, L))))
    cases.append(Case("saturated logits (|logit| = 40)",
                       (x, saturated_logits(g, x), rand(g, B, L), rand(g, B, L))))
    cases.append(Case("extreme log-variances (logvar = +-30, +-10)",
                       (x, rand(g, B, D), rand(g, B, 4), extreme_logvar(B, 4))))
    if samples:
        cases.append(Case(f"K samples: logits (K={K}, B={B}, D={D})",
                           (x, rand(g, K, B, D, scale=2.0), rand(g, B, L), rand(g, B, L))))
        cases.append(Case(f"K samples with saturated logits (K={K})",
                           (x, saturated_logits(g, x.expand(K, B, D)), rand(g, B, L),
                            rand(g, B, L))))
    if beta:
        for b in (0.5, 2.0):
            cases.append(Case(f"beta = {b}", (x, rand(g, B, D), rand(g, B, L),
                                               rand(g, B, L)), {"beta": b}))
    return cases


def weight_cases(g: torch.Generator, *, zero_weight: bool) -> list[Case]:
    """Log weight cases (K, *batch) for elbo_mc and iwae_bound."""
    cases = [
        Case(f"typical (K={K}, B={B})", (rand(g, K, B, scale=2.0),)),
        Case("K = 1", (rand(g, 1, B),)),
        Case(f"two batch dims (K={K}, 2, {B})", (rand(g, K, 2, B),)),
        Case("one example", (rand(g, K, 1),)),
        Case("underflowing weights (log w = -1000 + N(0, 1))", (-1000.0 + rand(g, K, B),)),
        Case("overflowing weights (log w = +800 + N(0, 1))", (800.0 + rand(g, K, B),)),
        Case("spread weights (log w ~ N(0, 30^2))", (rand(g, K, B, scale=30.0),)),
    ]
    if zero_weight:
        lw = rand(g, K, B)
        lw[1, 0] = -math.inf
        lw[3, 2] = -math.inf
        cases.append(Case("zero weights among others (log w = -inf)", (lw,)))
    return cases


