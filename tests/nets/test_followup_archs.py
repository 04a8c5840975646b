"""The follow-up study's networks (dcgan, sndcgan, resnet): shapes at every supported size and
norm, gradients, published sizes, spectral-norm wrapping, a tiny NS-GAN fit, configs, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from benchmark.nets import Architecture
from benchmark.nets.dcgan import DCGAN, SNDCGAN, ConvArchitecture
from benchmark.nets.norms import ARCH_NORMS
from benchmark.nets.resnet import CIFAR, RESNET64, ResNet

ARCHS: dict[str, type[ConvArchitecture]] = {"dcgan": DCGAN, "sndcgan": SNDCGAN, "resnet": ResNet}
SIZES = {"dcgan": (16, 28, 32, 64), "sndcgan": (16, 32, 64), "resnet": (16, 28, 32, 64)}
CASES = [(name, size) for name, sizes in SIZES.items() for size in sizes]
Z_DIM = 8
NARROW = 0.125  # 1/8 of every channel count: CPU-cheap, same structure
WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
CONF = Path(__file__).resolve().parents[2] / "conf" / "arch"


def _params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _count(net: nn.Module, kind: type[nn.Module] | tuple[type[nn.Module], ...]) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def _shape(size: int) -> tuple[int, int, int]:
    return (1 if size < 32 else 3, size, size)


@pytest.mark.parametrize("norm", ARCH_NORMS)
@pytest.mark.parametrize(("name", "size"), CASES)
def test_output_shapes(name: str, size: int, norm: str) -> None:
    torch.manual_seed(0)
    arch, shape, b = ARCHS[name](width=NARROW), _shape(size), 3
    x = arch.generator(Z_DIM, shape)(torch.rand(b, Z_DIM) * 2 - 1)
    assert x.shape == (b, *shape)
    assert x.min() >= 0 and x.max() <= 1
    assert arch.critic(shape, norm)(x).shape == (b,)
    recon = arch.autoencoder(shape, norm)(x)
    assert recon.shape == (b, *shape)
    assert recon.min() >= 0 and recon.max() <= 1
    assert arch.encoder(shape, Z_DIM, norm)(x).shape == (b, 2 * Z_DIM)


@pytest.mark.parametrize("name", ARCHS)
def test_generator_eval_mode_single_sample(name: str) -> None:
    # FID sampling runs G in eval mode (running BN statistics), possibly one sample at a time.
    G = ARCHS[name](width=NARROW).generator(Z_DIM, (3, 32, 32)).eval()
    with torch.no_grad():
        assert G(torch.randn(1, Z_DIM)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("name", ARCHS)
def test_gradients_reach_every_weight(name: str) -> None:
    torch.manual_seed(0)
    arch, shape = ARCHS[name](width=NARROW), (3, 32, 32)
    G, D = arch.generator(Z_DIM, shape), arch.critic(shape, "batch")
    D(G(torch.randn(4, Z_DIM))).mean().backward()
    for net in (G, D):
        for pname, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname
            # Biases right before a batch norm get exactly no gradient (BN removes the mean), so
            # only the weight matrices/kernels must have a non-zero one.
            if p.dim() > 1:
                assert p.grad.abs().sum() > 0, pname


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def _bn(c: int) -> int:
    return 2 * c


def test_parameter_counts_match_the_published_nets() -> None:
    # Hand-counted from the published layer tables (z_dim 128, RGB, no norm in D).
    z = 128
    # Miyato et al. 2018, Table 4 (CIFAR ResNet): 4.28M / 1.05M.
    g_block = 2 * _conv(256, 256, 3) + 2 * _bn(256) + _conv(256, 256, 1)
    g = (z * 256 * 16 + 256 * 16) + 3 * g_block + _bn(256) + _conv(256, 3, 3)
    d = (_conv(3, 128, 3) + _conv(128, 128, 3) + _conv(3, 128, 1)            # optimised block
         + 2 * _conv(128, 128, 3) + _conv(128, 128, 1)                       # down block
         + 2 * 2 * _conv(128, 128, 3)                                        # 2 identity blocks
         + 128 + 1)                                                          # FC
    resnet = ResNet()
    assert _params(resnet.generator(z, (3, 32, 32))) == g == 4_276_739
    assert _params(resnet.critic((3, 32, 32), "none")) == d == 1_053_825
    # compare_gan's sndcgan.py (Kurach et al.'s SNDCGAN) on CIFAR: D 5.86M, G 3.83M.
    chans = [3, 64, 128, 128, 256, 256, 512, 512]
    kernels = [3, 4, 3, 4, 3, 4, 3]
    d = sum(_conv(chans[i], chans[i + 1], kernels[i]) for i in range(7)) + 512 * 4 * 4 + 1
    g = (z * 512 * 16 + 512 * 16 + _bn(512 * 16) + _conv(512, 256, 4) + _bn(256)
         + _conv(256, 128, 4) + _bn(128) + _conv(128, 64, 4) + _bn(64) + _conv(64, 3, 3))
    assert _params(SNDCGAN().critic((3, 32, 32), "none")) == d == 5_860_865
    assert _params(SNDCGAN().generator(z, (3, 32, 32))) == g == 3_828_739
    # compare_gan's dcgan.py at 64x64 (4x4 seed, 5x5 kernels): G 5.36M, D 4.31M.
    g = (z * 512 * 16 + 512 * 16 + _bn(512) + _conv(512, 256, 5) + _bn(256) + _conv(256, 128, 5)
         + _bn(128) + _conv(128, 64, 5) + _bn(64) + _conv(64, 3, 5))
    d = (_conv(3, 64, 5) + _conv(64, 128, 5) + _conv(128, 256, 5) + _conv(256, 512, 5)
         + 512 * 4 * 4 + 1)
    assert _params(DCGAN().generator(z, (3, 64, 64))) == g == 5_364_739
    assert _params(DCGAN().critic((3, 64, 64), "none")) == d == 4_314_753


def test_resnet_layouts() -> None:
    arch = ResNet(width=NARROW)
    assert arch.layout((3, 32, 32)) is CIFAR and arch.layout((1, 28, 28)) is CIFAR
    assert arch.layout((3, 64, 64)) is RESNET64 and arch.layout((3, 48, 48)) is RESNET64
    # Both sizes start G from a 4x4 seed; 28 rounds 28 -> 14 -> 7 -> 4 up.
    for size, blocks in ((32, 3), (64, 5), (28, 3)):
        G = arch.generator(Z_DIM, (3, size, size))
        assert [m for m in G if isinstance(m, nn.Unflatten)][0].unflattened_size[1:] == (4, 4)
        assert sum(type(m).__name__ == "GBlock" for m in G) == blocks
    # D's last map: 8x8 for CIFAR (Miyato), 4x4 at 64.
    for size, final in ((32, 8), (64, 4)):
        trunk = arch.critic((3, size, size), "none")[:-4]  # up to the last residual block
        assert trunk(torch.rand(2, 3, size, size)).shape[-2:] == (final, final)


@pytest.mark.parametrize("name", ARCHS)
def test_norm_switch(name: str) -> None:
    arch, shape = ARCHS[name](width=NARROW), (3, 32, 32)
    bn, ln = nn.modules.batchnorm._BatchNorm, (nn.GroupNorm, nn.LayerNorm)
    build = {"critic": lambda n: arch.critic(shape, n),
             "encoder": lambda n: arch.encoder(shape, Z_DIM, n),
             "autoencoder": lambda n: arch.autoencoder(shape, n)}
    for kind, make in build.items():
        n_bn = _count(make("batch"), bn)
        assert n_bn > 0, kind
        assert _count(make("layer"), ln) == n_bn, kind  # one for one, in the same places
        assert _count(make("layer"), bn) == 0 and _count(make("none"), (bn, *ln)) == 0, kind
    G = arch.generator(Z_DIM, shape)  # G: batch norm whatever D uses
    assert _count(G, bn) > 0 and _count(G, ln) == 0


@pytest.mark.parametrize("name", ARCHS)
def test_spectral_norm_wrapping(name: str) -> None:
    torch.manual_seed(0)
    arch, shape = ARCHS[name](width=NARROW), (3, 32, 32)
    x = torch.rand(4, *shape)
    for net in (arch.critic(shape, "none"), arch.encoder(shape, Z_DIM, "none"),
                arch.autoencoder(shape, "none")):
        before = _params(net)
        layers = [m for m in net.modules() if isinstance(m, WEIGHTED)]
        for m in layers:
            spectral_norm(m)
        assert _params(net) == before  # the parametrization keeps the raw weight as parameter
        for _ in range(15):  # power iterations converge on each forward in train mode
            out = net(x)
        out.float().pow(2).mean().backward()
        for m in layers:
            raw = m.parametrizations.weight.original
            assert raw.grad is not None and raw.grad.abs().sum() > 0
        for m in (layers[0], layers[-1]):
            w = m.weight.detach().flatten(1) if not isinstance(m, nn.ConvTranspose2d) \
                else m.weight.detach().transpose(0, 1).flatten(1)
            assert torch.linalg.matrix_norm(w, 2).item() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("name", ARCHS)
def test_ns_gan_training_steps(name: str) -> None:
    # Non-saturating GAN losses (Goodfellow et al. 2014), on a fixed batch: D learns to tell
    # it from G's samples, then G learns to fool that D. Real images are brighter than G's
    # initial ~0.5 grey, so a few dozen steps suffice.
    torch.manual_seed(0)
    arch, shape = ARCHS[name](width=NARROW), (1, 16, 16)
    G, D = arch.generator(Z_DIM, shape), arch.critic(shape, "none")
    real, z = 0.7 + 0.3 * torch.rand(16, *shape), torch.rand(16, Z_DIM) * 2 - 1
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))

    def d_loss() -> torch.Tensor:
        with torch.no_grad():
            fake = G(z)
        lr, lf = D(real), D(fake)
        return (F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr))
                + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)))

    def g_loss() -> torch.Tensor:
        lf = D(G(z))
        return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))

    for loss, opt in ((d_loss, opt_d), (g_loss, opt_g)):
        losses = []
        for _ in range(30):  # the 0.02 init starts D near 0: it takes ~10 steps to get going
            value = loss()
            opt.zero_grad()
            value.backward()
            opt.step()
            losses.append(value.item())
        assert all(map(torch.isfinite, torch.tensor(losses)))
        assert losses[-1] < 0.75 * losses[0], losses


@pytest.mark.parametrize("name", ARCHS)
def test_width_and_study_init(name: str) -> None:
    torch.manual_seed(0)
    full = ARCHS[name]().critic((3, 32, 32), "none")
    half = ARCHS[name](width=0.5).critic((3, 32, 32), "none")
    convs = [m.out_channels for m in full.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in half.modules() if isinstance(m, nn.Conv2d)] == \
        [c // 2 for c in convs]
    for m in full.modules():
        if isinstance(m, nn.Conv2d):  # compare_gan's truncated N(0, 0.02): nothing past 2 std
            assert m.weight.abs().max() <= 0.04
        if isinstance(m, WEIGHTED):
            assert torch.all(m.bias == 0)


def test_bn_momentum_reaches_every_batch_norm() -> None:
    for cls in ARCHS.values():
        arch = cls(width=NARROW, bn_momentum=0.1)
        for net in (arch.generator(Z_DIM, (3, 32, 32)), arch.critic((3, 32, 32), "batch")):
            bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            assert bns and all(m.momentum == 0.1 and m.eps == pytest.approx(1e-3) for m in bns)


@pytest.mark.parametrize("name", ARCHS)
def test_configs_build_the_architecture(name: str) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    assert {"_target_", "width", "bn_momentum"} <= set(cfg)
    arch = instantiate(cfg, width=NARROW)
    assert type(arch) is ARCHS[name] and arch.width == NARROW
    assert isinstance(arch, Architecture)


def test_size_errors_name_the_supported_sizes() -> None:
    with pytest.raises(ValueError, match=r"arch=sndcgan needs H and W divisible by 8 \(e.g. 16, 32"):
        SNDCGAN().generator(Z_DIM, (1, 28, 28))
    with pytest.raises(ValueError, match=r"arch=sndcgan needs H and W divisible by 8"):
        SNDCGAN().critic((1, 28, 28), "none")
    with pytest.raises(ValueError, match=r"arch=resnet supports images up to 64x64"):
        ResNet().autoencoder((3, 128, 128), "none")


@pytest.mark.parametrize("name", ARCHS)
def test_shape_and_norm_errors(name: str) -> None:
    arch = ARCHS[name](width=NARROW)
    with pytest.raises(ValueError, match=rf"arch={name} needs images \(C,H,W\).*use arch=mlp"):
        arch.critic((2,), "none")
    with pytest.raises(ValueError, match=rf"arch={name} needs images"):
        arch.generator(Z_DIM, (32, 32))
    with pytest.raises(ValueError, match="norm must be one of.*spectral norm is"):
        arch.critic((3, 32, 32), "spectral")
    with pytest.raises(ValueError, match="norm must be one of"):
        arch.encoder((3, 32, 32), Z_DIM, "instance")
    with pytest.raises(ValueError, match="width"):
        ARCHS[name](width=0)
    with pytest.raises(ValueError, match="bn_momentum"):
        ARCHS[name](bn_momentum=0)
