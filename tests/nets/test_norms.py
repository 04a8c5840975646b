"""Spectral normalisation of D and the layer choice behind `norm=`."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from benchmark.nets import MLP, InfoGAN, apply_spectral_norm
from benchmark.nets.norms import norm_layer

WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _sigma(m: nn.Module) -> float:
    """Largest singular value of the (output dim first) matrix spectral norm normalises."""
    w = m.weight.detach()
    if isinstance(m, nn.ConvTranspose2d):
        w = w.transpose(0, 1)  # (in, out, k, k): torch normalises along the output dim
    return torch.linalg.matrix_norm(w.flatten(1), ord=2).item()


def test_a_diagonal_weight_is_divided_by_its_largest_singular_value() -> None:
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))  # singular values 3 and 4
    net = apply_spectral_norm(nn.Sequential(lin))
    for _ in range(20):  # one power iteration per training forward pass
        net(torch.randn(3, 2))
    assert torch.allclose(lin.weight, torch.tensor([[0.75, 0.0], [0.0, 1.0]]), atol=1e-5)
    # the raw weight is what trains
    assert lin.parametrizations.weight.original.tolist() == [[3.0, 0.0], [0.0, 4.0]]


@pytest.mark.parametrize(("net", "x"), [
    (lambda: InfoGAN(width=0.25).critic((1, 16, 16), "none"), torch.rand(4, 1, 16, 16)),
    (lambda: InfoGAN(width=0.25).autoencoder((1, 16, 16), "none"), torch.rand(4, 1, 16, 16)),
    (lambda: MLP(hidden=32).critic((2,), "none"), torch.randn(4, 2)),
])
def test_every_weight_has_unit_spectral_norm_after_power_iterations(net, x) -> None:
    torch.manual_seed(0)
    D = net()
    layers = [m for m in D.modules() if isinstance(m, WEIGHTED)]
    before = [_sigma(m) for m in layers]
    assert apply_spectral_norm(D) is D
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    D.train()
    with torch.no_grad():
        # power iteration converges as (sigma_2 / sigma_1)^n: close for random init
        for _ in range(300):
            D(x)
    assert [_sigma(m) for m in layers] == pytest.approx([1.0] * len(layers), rel=2e-3)
    assert not all(s == pytest.approx(1.0, rel=0.05) for s in before)  # there was work to do


def test_spectral_norm_keeps_biases_and_norm_layers_unwrapped() -> None:
    D = apply_spectral_norm(InfoGAN(width=0.25).critic((1, 16, 16), "batch"))
    bn = [m for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(bn) == 2 and not any(parametrize.is_parametrized(m) for m in bn)
    assert all(not parametrize.is_parametrized(m, "bias") for m in D.modules()
               if isinstance(m, WEIGHTED))


def test_norm_layer_choices() -> None:
    assert norm_layer("none", 8, 1) is None
    bn = norm_layer("batch", 8, 2, bn_eps=1e-3, bn_momentum=0.01)
    assert isinstance(bn, nn.BatchNorm2d) and (bn.eps, bn.momentum) == (1e-3, 0.01)
    assert isinstance(norm_layer("layer", 8, 1), nn.LayerNorm)
    gn = norm_layer("layer", 8, 2)
    assert isinstance(gn, nn.GroupNorm) and gn.num_groups == 1
    # GroupNorm(1, C): zero mean, unit variance over each sample's (C, H, W)
    y = gn(torch.randn(2, 8, 3, 3) * 5 + 2)
    assert torch.allclose(y.flatten(1).mean(1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(y.flatten(1).var(1, correction=0), torch.ones(2), atol=1e-3)
    with pytest.raises(ValueError, match="norm must be one of"):
        norm_layer("spectral", 8, 1)


def test_a_spectrally_normalised_net_round_trips_through_its_state_dict() -> None:
    # checkpoints save D.state_dict(): the power-iteration vectors are buffers in it
    torch.manual_seed(0)
    a = apply_spectral_norm(MLP(hidden=16).critic((2,), "none"))
    for _ in range(3):
        a(torch.randn(4, 2))
    b = apply_spectral_norm(MLP(hidden=16).critic((2,), "none"))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = torch.randn(5, 2)
    assert torch.equal(a(x), b(x))
