"""LRP: conservation on small float64 networks and each zennit rule against a hand-written numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
zennit_rules = pytest.importorskip("zennit.rules")

from forensics.explainers.lrp import (  # noqa: E402
    LRP_METHODS,
    captum_lrp,
    conv_linear_names,
    depth_thirds,
    lrp_relevance,
)

EPS = 1e-6


def _stab(z: np.ndarray, eps: float = EPS) -> np.ndarray:
    """zennit's stabiliser: z + eps * sign(z), with sign(0) = +1."""
    return z + np.where(z >= 0, 1.0, -1.0) * eps


def _net(bias: bool = False):
    torch.manual_seed(3)
    net = (
        torch.nn.Sequential(
            torch.nn.Conv2d(3, 6, 3, padding=1, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Conv2d(6, 8, 3, padding=1, bias=bias),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 8, 3, padding=1, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(8 * 4 * 4, 16, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Linear(16, 3, bias=bias),
        )
        .double()
        .eval()
    )
    return net


def _input():
    g = torch.Generator().manual_seed(5)
    return torch.randn(1, 3, 8, 8, generator=g, dtype=torch.float64)


# --- conservation: input relevance sums to the explained logit ------------------------------------------------------
@pytest.mark.parametrize("method", LRP_METHODS)
def test_conservation_bias_free_float64(method):
    net, x = _net(bias=False), _input()
    low, high = torch.full_like(x, -3.0), torch.full_like(x, 3.0)
    out, rel = lrp_relevance(net, x, 0, method, epsilon=1e-9, stabilizer=1e-12, low=low, high=high)
    logit = float(out[0, 0])
    assert rel.dtype == torch.float64 and rel.shape == x.shape
    assert abs(logit) > 1e-3  # the test means something
    # Tolerance: stabilisers of 1e-9/1e-12 absorb at most ~1e-8 of relative relevance on this net.
    assert float(rel.sum()) == pytest.approx(logit, rel=1e-6, abs=1e-9)


def test_conservation_other_target_and_no_hooks_left():
    net, x = _net(bias=False), _input()
    out, rel = lrp_relevance(net, x, 2, "lrp-epsilon-plus-flat", epsilon=1e-9, stabilizer=1e-12)
    assert float(rel.sum()) == pytest.approx(float(out[0, 2]), rel=1e-6)
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks


def test_epsilon_with_bias_conserves_logit_minus_bias_share():
    """With biases, LRP-epsilon on a one-layer net gives sum R = logit - bias (the bias keeps its share)."""
    torch.manual_seed(1)
    lin = torch.nn.Linear(5, 2).double().eval()
    x = torch.randn(1, 5, dtype=torch.float64)
    out, rel = lrp_relevance(torch.nn.Sequential(lin), x, 1, "lrp-epsilon", epsilon=1e-12)
    assert float(rel.sum()) == pytest.approx(float(out[0, 1] - lin.bias[1].detach()), rel=1e-8)


def test_hse_split_by_depth_thirds():
    net = _net()
    names = conv_linear_names(net)
    assert names == ["0", "2", "5", "8", "10"]
    lower, middle, upper = depth_thirds(names)
    assert (lower, middle, upper) == (["0", "2"], ["5", "8"], ["10"])


def test_hse_mix_uses_gamma_low_epsilon_mid_lrp0_top():
    """Relevance from the mix equals a manual NameMapComposite with the same three rules."""
    from zennit.attribution import Gradient
    from zennit.composites import NameLayerMapComposite, layer_map_base

    net, x = _net(bias=True), _input()
    _, rel = lrp_relevance(net, x, 1, "lrp-gamma-epsilon-zero", epsilon=0.25, gamma=0.25)
    comp = NameLayerMapComposite(
        name_map=[
            (("0", "2"), zennit_rules.Gamma(gamma=0.25)),
            (("5", "8"), zennit_rules.Epsilon(0.25)),
            (("10",), zennit_rules.Epsilon(1e-9)),
        ],
        layer_map=layer_map_base(),
    )
    xin = x.clone().requires_grad_(True)
    with Gradient(model=net, composite=comp) as attributor:
        _, ref = attributor(xin, lambda out: torch.eye(3, dtype=torch.float64)[[1]] * out)
    np.testing.assert_allclose(rel.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-14)


# --- one layer, one rule, against numpy ----------------------------------------------------------------------------
def _layer_case(positive_input: bool):
    rng = np.random.default_rng(11)
    w = rng.normal(size=(4, 6))
    b = rng.normal(size=4) * 0.3
    x = rng.normal(size=(1, 6))
    if positive_input:
        x = np.abs(x)
    r_out = rng.normal(size=(1, 4))
    return w, b, x, r_out


def _zennit_layer(rule, w, b, x, r_out):
    lin = torch.nn.Linear(w.shape[1], w.shape[0]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        lin.bias.copy_(torch.from_numpy(b))
    handles = rule.register(lin)
    try:
        xin = torch.from_numpy(x).requires_grad_(True)
        out = lin(xin)
        (rel,) = torch.autograd.grad(out, xin, grad_outputs=torch.from_numpy(r_out))
    finally:
        handles.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks
    return rel.numpy()


def _ref_epsilon(w, b, x, r, eps):
    z = x @ w.T + b
    s = r / _stab(z, eps)
    return x * (s @ w)


def _ref_zplus(w, b, x, r):
    wp, wn = np.clip(w, 0, None), np.clip(w, None, 0)
    xp, xn = np.clip(x, 0, None), np.clip(x, None, 0)
    z = xp @ wp.T + np.clip(b, 0, None) + xn @ wn.T
    s = r / _stab(z)
    return xp * (s @ wp) + xn * (s @ wn)


def _ref_gamma(w, b, x, r, gamma):
    wp, wn = np.clip(w, 0, None), np.clip(w, None, 0)
    xp, xn = np.clip(x, 0, None), np.clip(x, None, 0)
    wpos, wneg = w + gamma * wp, w + gamma * wn  # weights favouring positive / negative contributions
    z = x @ w.T + b
    zpos = xp @ wpos.T + (b + gamma * np.clip(b, 0, None)) + xn @ wneg.T
    zneg = xp @ wneg.T + (b + gamma * np.clip(b, None, 0)) + xn @ wpos.T
    sp = r * (z > 0) / _stab(zpos)
    sn = r * (z < 0) / _stab(zneg)
    return xp * (sp @ wpos) + xn * (sp @ wneg) + xp * (sn @ wneg) + xn * (sn @ wpos)


def _ref_zbox(w, b, x, r, low, high):
    wp, wn = np.clip(w, 0, None), np.clip(w, None, 0)
    z = x @ w.T - low @ wp.T - high @ wn.T  # the biases cancel: b - b+ - b- = 0
    s = r / _stab(z)
    return x * (s @ w) - low * (s @ wp) - high * (s @ wn)


def _ref_flat(w, x, r):
    n = w.shape[1]
    return np.ones_like(x) * (r / _stab(np.full_like(r, float(n)))).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("positive", [False, True])
def test_lrp0_and_epsilon_rules(positive):
    w, b, x, r = _layer_case(positive)
    for eps in (1e-12, 0.25):  # 1e-12: LRP-0 in practice; 0.25: a real epsilon
        got = _zennit_layer(zennit_rules.Epsilon(epsilon=eps), w, b, x, r)
        np.testing.assert_allclose(got, _ref_epsilon(w, b, x, r, eps), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("positive", [False, True])
def test_zplus_and_alpha1beta0_rules(positive):
    w, b, x, r = _layer_case(positive)
    ref = _ref_zplus(w, b, x, r)
    np.testing.assert_allclose(_zennit_layer(zennit_rules.ZPlus(), w, b, x, r), ref, rtol=1e-10, atol=1e-12)
    ab = _zennit_layer(zennit_rules.AlphaBeta(alpha=1.0, beta=0.0), w, b, x, r)
    np.testing.assert_allclose(ab, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("positive", [False, True])
def test_gamma_rule(positive):
    w, b, x, r = _layer_case(positive)
    got = _zennit_layer(zennit_rules.Gamma(gamma=0.25), w, b, x, r)
    np.testing.assert_allclose(got, _ref_gamma(w, b, x, r, 0.25), rtol=1e-10, atol=1e-12)


def test_zbox_rule():
    w, b, x, r = _layer_case(False)
    low, high = np.full_like(x, -2.5), np.full_like(x, 2.5)
    rule = zennit_rules.ZBox(low=torch.from_numpy(low), high=torch.from_numpy(high))
    got = _zennit_layer(rule, w, b, x, r)
    np.testing.assert_allclose(got, _ref_zbox(w, b, x, r, low, high), rtol=1e-10, atol=1e-12)


def test_flat_rule():
    w, b, x, r = _layer_case(False)
    got = _zennit_layer(zennit_rules.Flat(), w, b, x, r)
    np.testing.assert_allclose(got, _ref_flat(w, x, r), rtol=1e-10, atol=1e-12)


def test_single_layer_rules_conserve_without_bias():
    w, _, x, r = _layer_case(True)
    b0 = np.zeros(w.shape[0])
    for rule in (zennit_rules.Epsilon(1e-12), zennit_rules.ZPlus(stabilizer=1e-12), zennit_rules.Gamma(0.25, 1e-12)):
        got = _zennit_layer(rule, w, b0, x, r)
        assert got.sum() == pytest.approx(r.sum(), rel=1e-9), type(rule).__name__


def test_captum_lrp_matches_zennit_epsilon_on_plain_net():
    """Cross-check: captum's LRP (epsilon rules) and zennit's lrp-epsilon agree on a bias-free plain CNN."""
    net, x = _net(bias=False), _input()
    out, rel = lrp_relevance(net, x, 1, "lrp-epsilon", epsilon=1e-9)
    ref, delta = captum_lrp(net, x, 1)
    np.testing.assert_allclose(rel.numpy(), ref.numpy(), rtol=1e-5, atol=1e-9)  # the two epsilons differ a little
    assert float(ref.sum()) == pytest.approx(float(out[0, 1]), rel=1e-6)
    assert float(delta.abs().max()) < 1e-6
    assert not any(hasattr(m, "rule") or hasattr(m, "activations") for m in net.modules())
