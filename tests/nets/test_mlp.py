"""MLP networks for point data: shapes, batch-norm switch, depth, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.nets import MLP, Architecture


def _count(net: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def test_output_shapes() -> None:
    arch, b = MLP(hidden=32, depth=2), 5
    x = arch.generator(4, (3,))(torch.randn(b, 4))
    assert x.shape == (b, 3)
    assert arch.critic((3,), norm="batch")(x).shape == (b,)
    assert arch.autoencoder((3,), norm="batch")(x).shape == (b, 3)
    assert arch.encoder((3,), 4, norm="batch")(x).shape == (b, 8)


def test_generator_output_is_unbounded() -> None:
    # Points are not squashed: a linear last layer.
    G = MLP(hidden=8, depth=1).generator(2, (2,))
    assert isinstance(list(G.children())[-1], nn.Linear)


def test_depth_and_batchnorm() -> None:
    arch = MLP(hidden=16, depth=3)
    assert _count(arch.critic((2,), "none"), nn.Linear) == 4
    assert _count(arch.critic((2,), "batch"), nn.BatchNorm1d) == 3
    assert _count(arch.critic((2,), "none"), nn.BatchNorm1d) == 0
    assert _count(arch.encoder((2,), 4, "batch"), nn.BatchNorm1d) == 3
    assert _count(arch.generator(4, (2,)), nn.BatchNorm1d) == 0
    # Auto-encoder: depth layers, code, depth layers, output; BN on the hidden ones and the code.
    assert _count(arch.autoencoder((2,), "none"), nn.Linear) == 8
    assert _count(arch.autoencoder((2,), "batch"), nn.BatchNorm1d) == 7


def test_autoencoder_code_width() -> None:
    def code(hidden: int) -> int:
        linears = [m for m in MLP(hidden, 1).autoencoder((2,), "none").modules()
                   if isinstance(m, nn.Linear)]
        return linears[1].out_features

    assert code(512) == 128
    assert code(4) == 2  # hidden // 4 = 1, at least 2


def test_is_an_architecture() -> None:
    assert isinstance(MLP(), Architecture)


def test_images_error_names_infogan() -> None:
    with pytest.raises(ValueError) as e:
        MLP().critic((1, 16, 16), "batch")
    assert str(e.value) == "arch=mlp works on points (D,); got images (1, 16, 16) — use arch=infogan"


@pytest.mark.parametrize("shape", [(1, 16, 16), (4, 4), ()])
def test_rejects_non_point_shapes(shape: tuple[int, ...]) -> None:
    arch = MLP(hidden=8, depth=1)
    for build in (lambda: arch.generator(2, shape), lambda: arch.critic(shape, "none"),
                  lambda: arch.autoencoder(shape, "none"), lambda: arch.encoder(shape, 2, "none")):
        with pytest.raises(ValueError, match=r"arch=mlp works on points \(D,\)"):
            build()


def test_width_scales_hidden_layers() -> None:
    from benchmark.nets.mlp import MLP

    assert MLP(hidden=512, width=0.25).hidden == 128
    G = MLP(hidden=64, width=0.5).generator(8, (2,))
    assert G[0].out_features == 32


def test_layer_norm_where_batch_norm_would_be() -> None:
    arch = MLP(hidden=16, depth=3)
    critic = arch.critic((2,), "layer")
    assert _count(critic, nn.LayerNorm) == 3 and _count(critic, nn.BatchNorm1d) == 0
    assert _count(arch.autoencoder((2,), "layer"), nn.LayerNorm) == 7
    # per sample: a sample's output does not depend on the rest of its batch
    x = torch.randn(6, 2)
    assert torch.allclose(critic(x)[:2], critic(x[:2]))


@pytest.mark.parametrize("norm", ["spectral", "group", "batchnorm"])
def test_unknown_norm_names_the_valid_ones(norm: str) -> None:
    with pytest.raises(ValueError, match=r"arch=mlp: norm must be one of \('none', 'batch', "
                                         r"'layer'\)"):
        MLP(hidden=8, depth=1).critic((2,), norm)
