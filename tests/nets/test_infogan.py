"""The study's convolutional networks: shapes, ranges, batch-norm switches, sizes, init, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.nets import Architecture, InfoGAN

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 16, 16), (1, 8, 8)]
Z_DIM = 8


def _count(net: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def _params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("shape", SHAPES)
def test_output_shapes_narrow(shape: tuple[int, int, int]) -> None:
    arch = InfoGAN(width=0.25)
    b = 3
    x = arch.generator(Z_DIM, shape)(torch.rand(b, Z_DIM) * 2 - 1)
    assert x.shape == (b, *shape)
    assert arch.critic(shape, norm="batch")(x).shape == (b,)
    assert arch.autoencoder(shape, norm="batch")(x).shape == (b, *shape)
    assert arch.encoder(shape, Z_DIM, norm="batch")(x).shape == (b, 2 * Z_DIM)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_output_shapes_full_width(shape: tuple[int, int, int]) -> None:
    arch = InfoGAN()
    x = arch.generator(Z_DIM, shape)(torch.rand(2, Z_DIM))
    assert x.shape == (2, *shape)
    assert arch.critic(shape, norm="none")(x).shape == (2,)


def test_generator_output_is_in_unit_interval() -> None:
    G = InfoGAN(width=0.25).generator(Z_DIM, (1, 16, 16))
    # Large latents push the pre-sigmoid activations far out; sigmoid keeps them in [0, 1].
    x = G(torch.randn(16, Z_DIM) * 100)
    assert x.min() >= 0 and x.max() <= 1
    recon = InfoGAN(width=0.25).autoencoder((1, 16, 16), norm="none")(x)
    assert recon.min() >= 0 and recon.max() <= 1


def test_batchnorm_switch() -> None:
    arch, shape = InfoGAN(width=0.25), (1, 16, 16)
    # D: after conv2 and FC 1024; BEGAN's AE: code, FC, deconv; encoder as D; G always 3.
    expected = {"critic": 2, "autoencoder": 3}
    for kind, n in expected.items():
        assert _count(getattr(arch, kind)(shape, "batch"), nn.modules.batchnorm._BatchNorm) == n
        assert _count(getattr(arch, kind)(shape, "none"), nn.modules.batchnorm._BatchNorm) == 0
    assert _count(arch.encoder(shape, Z_DIM, "batch"), nn.modules.batchnorm._BatchNorm) == 2
    assert _count(arch.encoder(shape, Z_DIM, "none"), nn.modules.batchnorm._BatchNorm) == 0
    assert _count(arch.generator(Z_DIM, shape), nn.modules.batchnorm._BatchNorm) == 3


def test_layer_norm_where_batch_norm_was() -> None:
    arch, shape = InfoGAN(width=0.25), (1, 16, 16)
    critic = arch.critic(shape, "layer")
    norms = [m for m in critic.modules() if isinstance(m, nn.GroupNorm | nn.LayerNorm)]
    # after conv2 (32 channels at width 0.25): GroupNorm(1, C) over (C, H, W); after FC 256
    assert [type(m) for m in norms] == [nn.GroupNorm, nn.LayerNorm]
    assert (norms[0].num_groups, norms[0].num_channels) == (1, 32)
    assert norms[1].normalized_shape == (256,)
    assert _count(critic, nn.modules.batchnorm._BatchNorm) == 0
    ae = arch.autoencoder(shape, "layer")
    assert _count(ae, nn.GroupNorm) + _count(ae, nn.LayerNorm) == 3
    assert _count(arch.encoder(shape, Z_DIM, "layer"), nn.GroupNorm) == 1
    # per sample: a sample's output does not depend on the rest of its batch (unlike BN)
    x = torch.rand(5, *shape)
    assert torch.allclose(critic(x)[:2], critic(x[:2]), atol=1e-6)


@pytest.mark.parametrize("norm", ["spectral", "instance", "true"])
def test_unknown_norm_names_the_valid_ones(norm: str) -> None:
    with pytest.raises(ValueError, match=r"arch=infogan: norm must be one of \('none', "
                                         r"'batch', 'layer'\)"):
        InfoGAN(width=0.25).critic((1, 16, 16), norm)
    with pytest.raises(ValueError, match="arch=infogan: norm must be one of"):
        InfoGAN(width=0.25).autoencoder((1, 16, 16), norm)


def test_study_batchnorm_settings() -> None:
    bns = [m for m in InfoGAN().generator(Z_DIM, (1, 8, 8)).modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    # TF batch_norm(decay=0.999, epsilon=0.001) in compare_gan's ops.py.
    assert all(m.momentum == pytest.approx(1e-3) and m.eps == pytest.approx(1e-3) for m in bns)
    assert all(m.momentum == 0.1 for m in InfoGAN(bn_momentum=0.1).generator(Z_DIM, (1, 8, 8))
               .modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def test_parameter_counts_match_the_study() -> None:
    # compare_gan's BEGAN.py: "less parameters (1.3M vs 8.5M)" than the standard D, on CIFAR.
    h4 = w4 = 32 // 4
    conv1 = 3 * 64 * 16 + 64
    conv2 = 64 * 128 * 16 + 128
    critic = conv1 + conv2 + (128 * h4 * w4 * 1024 + 1024) + (1024 + 1)
    ae = (conv1 + conv2 + (128 * h4 * w4 * 64 + 64) + (64 * 128 * h4 * w4 + 128 * h4 * w4)
          + (128 * 64 * 16 + 64) + (64 * 3 * 16 + 3))
    arch = InfoGAN()
    assert _params(arch.critic((3, 32, 32), norm="none")) == critic == 8_524_993
    assert _params(arch.autoencoder((3, 32, 32), norm="none")) == ae == 1_325_379


def test_width_scales_channels() -> None:
    arch = InfoGAN(width=0.25)
    assert (arch.c64, arch.c128, arch.c1024) == (16, 32, 256)
    tiny = InfoGAN(width=1e-3)
    assert (tiny.c64, tiny.c128, tiny.c1024) == (1, 1, 1)
    convs = [m for m in arch.critic((1, 16, 16), "batch").modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32]


def test_study_initialisation() -> None:
    torch.manual_seed(0)
    D = InfoGAN().critic((1, 28, 28), norm="batch")
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            # Truncated normal: nothing beyond 2 std.
            assert m.weight.abs().max() <= 0.04
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            assert torch.all(m.bias == 0)
    fc = [m for m in D.modules() if isinstance(m, nn.Linear)][0]
    assert fc.weight.std().item() == pytest.approx(0.02, rel=0.02)


def test_is_an_architecture() -> None:
    assert isinstance(InfoGAN(), Architecture)


@pytest.mark.parametrize("shape", [(2,), (1, 18, 16), (1, 16, 10), (16, 16), (1, 1, 16, 16)])
def test_rejects_non_image_shapes(shape: tuple[int, ...]) -> None:
    arch = InfoGAN(width=0.25)
    with pytest.raises(ValueError, match=r"arch=infogan needs images \(C,H,W\)"):
        arch.generator(Z_DIM, shape)
    with pytest.raises(ValueError, match="divisible by 4"):
        arch.critic(shape, "batch")
    with pytest.raises(ValueError, match="arch=infogan"):
        arch.autoencoder(shape, "batch")
    with pytest.raises(ValueError, match="arch=infogan"):
        arch.encoder(shape, Z_DIM, "batch")


def test_points_error_names_the_mlp() -> None:
    with pytest.raises(ValueError) as e:
        InfoGAN().critic((2,), "batch")
    assert str(e.value) == ("arch=infogan needs images (C,H,W) with H and W divisible by 4; "
                            "got shape (2,) — use arch=mlp for points")


def test_rejects_bad_width() -> None:
    with pytest.raises(ValueError, match="width"):
        InfoGAN(width=0)


def test_generator_activation_switch() -> None:
    # lrelu: compare_gan v1 abstract_gan.generator; relu: its VAE.decoder (same layers otherwise).
    arch = InfoGAN(width=0.25)
    leaky = arch.generator(Z_DIM, (1, 8, 8))
    relu = arch.generator(Z_DIM, (1, 8, 8), activation="relu")
    assert _count(leaky, nn.LeakyReLU) == 3 and _count(leaky, nn.ReLU) == 0
    assert _count(relu, nn.ReLU) == 3 and _count(relu, nn.LeakyReLU) == 0
    assert all(m.negative_slope == 0.2 for m in leaky.modules() if isinstance(m, nn.LeakyReLU))
    assert _params(relu) == _params(leaky) and _count(relu, nn.BatchNorm1d) == 2
    # after the same weights, the ReLU net's hidden units are the leaky one's clipped at 0
    relu.load_state_dict(leaky.state_dict())
    leaky.eval(), relu.eval()
    z = torch.randn(4, Z_DIM)
    h_leaky, h_relu = leaky[:3](z), relu[:3](z)  # Linear, BN, activation
    assert torch.allclose(h_relu, h_leaky.clamp(min=0))


def test_generator_unknown_activation() -> None:
    with pytest.raises(ValueError, match="relu"):
        InfoGAN(width=0.25).generator(Z_DIM, (1, 8, 8), activation="tanh")
