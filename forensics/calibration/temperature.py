"""Bias-corrected temperature scaling (Alexandari, Kundaje & Shrikumar, ICML 2020): softmax, logit, the negative
log-likelihood and the fits of one temperature (and one bias per class) on validation logits. Used by
``forensics.calibration.fit_calibration``.
"""

from __future__ import annotations

import math

import numpy as np

from forensics.errors import ForensicsError

EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before the logit


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a (N, C) array of logits."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of integer ``labels`` under ``softmax(logits / temperature)``."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), np.asarray(labels, dtype=int)].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Temperature minimising the validation NLL (search on log T, bounded)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ForensicsError(f"temperature fit needs (N, C) logits and N labels, got {logits.shape} / {labels.shape}")
    res = minimize_scalar(
        lambda lt: nll(logits, labels, math.exp(lt)),
        bounds=tuple(math.log(b) for b in bounds),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(math.exp(res.x))


def fit_temperature_and_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    bounds: tuple[float, float] = (0.05, 20.0),
    max_bias: float = 10.0,
    t0: float | None = None,
) -> tuple[float, tuple[float, ...]]:
    """``(T, b)`` minimising the NLL of ``softmax(logits / T + b)`` with ``b[0] = 0`` (bias-corrected temperature
    scaling). Starts from the temperature-only fit ``t0`` (fitted here when not given), so the NLL is never worse
    than that fit's."""
    from scipy.optimize import minimize

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    t0 = fit_temperature(logits, labels, bounds=bounds) if t0 is None else float(t0)
    c = logits.shape[1]
    if c < 2:
        return t0, (0.0,)

    def loss(theta: np.ndarray) -> float:
        return nll(logits / math.exp(theta[0]) + np.r_[0.0, theta[1:]], labels)

    x0 = np.r_[math.log(t0), np.zeros(c - 1)]
    res = minimize(
        loss, x0, method="L-BFGS-B", bounds=[tuple(math.log(b) for b in bounds)] + [(-max_bias, max_bias)] * (c - 1)
    )
    theta = res.x if res.fun <= loss(x0) else x0
    return float(math.exp(theta[0])), (0.0, *(float(b) for b in theta[1:]))
