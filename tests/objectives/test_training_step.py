"""One training iteration of every objective on both architectures, built from the real configs
(conf/gan/*.yaml, conf/arch/*.yaml, and the loss/penalty/norm groups they compose) the way the
training loop builds them."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from benchmark.composition import discriminator_norm

OBJECTIVES = ["mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae",
              "hinge_sn"]
# Compositions beyond the presets: every loss, penalty and norm appears at least once.
COMPOSED = [("gan=ns_gan", "loss=hinge", "penalty=r1", "norm=spectral"),
            ("gan=ns_gan", "loss=wasserstein", "penalty=l2", "norm=layer"),
            ("gan=wgan_gp", "loss=ls", "penalty=dragan", "norm=none"),
            ("gan=ns_gan", "loss=mm", "penalty=wgan_gp", "norm=batch"),
            ("gan=wgan_gp", "norm=batch", "gan.d_batch=joint")]
# Narrow nets keep this fast on a CPU.
ARCHS = {"infogan": (["arch.width=0.25"], (1, 16, 16)), "mlp": (["arch.hidden=32"], (2,))}
Z_DIM, BATCH = 8, 8  # z_dim: conftest's TINY


def _latent(kind: str, n: int) -> Tensor:
    return torch.rand(n, Z_DIM) * 2 - 1 if kind == "uniform" else torch.randn(n, Z_DIM)


def _data(shape: tuple[int, ...], n: int) -> Tensor:
    # Images in [0, 1] (the Bernoulli VAE needs them there); points unbounded.
    return torch.rand(n, *shape) if len(shape) == 3 else torch.randn(n, *shape)


def _weights(net: nn.Module) -> dict[str, Tensor]:
    # Matrices and kernels; a bias can legitimately get no gradient (e.g. the critic's last bias
    # cancels out of E f(G(z)) - E f(x)).
    return {n: p.detach().clone() for n, p in net.named_parameters() if p.dim() >= 2}


def _all_changed(before: dict[str, Tensor], net: nn.Module) -> list[str]:
    params = dict(net.named_parameters())
    return [n for n, p in before.items() if torch.equal(p, params[n].detach())]


@pytest.mark.parametrize("arch_name", list(ARCHS))
@pytest.mark.parametrize("overrides", [(f"gan={name}",) for name in OBJECTIVES] + COMPOSED,
                         ids=lambda o: " ".join(o))
def test_one_iteration(compose_cfg, overrides: tuple[str, ...], arch_name: str) -> None:
    torch.manual_seed(0)
    cfg = compose_cfg(*overrides, f"arch={arch_name}", *ARCHS[arch_name][0])
    gan, shape = cfg.gan, ARCHS[arch_name][1]
    arch = instantiate(cfg.arch)
    objective = instantiate(gan.objective)

    G = objective.build_generator(arch, Z_DIM, shape)
    D = objective.build_discriminator(arch, shape, Z_DIM, discriminator_norm(cfg))
    betas = (gan.beta1, gan.beta2)
    opt_g = torch.optim.Adam(objective.generator_parameters(G, D), lr=gan.lr, betas=betas)
    g_before, d_before = _weights(G), _weights(D)

    if objective.trains_discriminator:
        opt_d = torch.optim.Adam(D.parameters(), lr=gan.lr, betas=betas)
        d_loss, d_logs = objective.d_loss(G, D, _data(shape, BATCH), _latent(gan.latent, BATCH))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        # The D step builds no graph through G.
        assert all(p.grad is None for p in G.parameters())
        opt_d.step()
        objective.after_d_step(D)
        assert torch.isfinite(d_loss)
        assert "d_loss" in d_logs
        assert all(v.dim() == 0 and not v.requires_grad for v in d_logs.values())
        assert _all_changed(d_before, D) == []

    g_loss, g_logs = objective.g_loss(G, D, _data(shape, BATCH), _latent(gan.latent, BATCH))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    objective.after_g_step()
    assert torch.isfinite(g_loss)
    assert all(v.dim() == 0 and not v.requires_grad for v in g_logs.values())
    assert _all_changed(g_before, G) == []
    if not objective.trains_discriminator:
        # The VAE's encoder trains in the generator step.
        assert _all_changed(d_before, D) == []
    with torch.no_grad():
        assert G(_latent(gan.latent, 2)).shape == (2, *shape)


@pytest.mark.parametrize("gan_name", OBJECTIVES)
def test_config_has_the_loop_keys(compose_cfg, gan_name: str) -> None:
    cfg = compose_cfg(f"gan={gan_name}")
    gan = cfg.gan
    assert gan.name == gan_name
    for key, kind in [("lr", float), ("beta1", float), ("beta2", float), ("n_disc", int)]:
        assert isinstance(gan[key], kind), key  # e.g. "5e-5" would load as a string
    assert discriminator_norm(cfg) in ("batch", "none", "spectral")  # every preset names D's norm
    assert gan.latent == ("normal" if gan_name == "vae" else "uniform")
