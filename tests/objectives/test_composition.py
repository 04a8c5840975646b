"""loss x penalty x norm from the config groups: the study's presets are their old objectives,
the command line recomposes them, and what does not fit is a config error naming the options."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from benchmark.composition import BN_KEY, discriminator_norm, pin_norm
from benchmark.nets import MLP
from benchmark.objectives.gans import GAN
from benchmark.search import apply_sample, draw, search_space
from benchmark.validate import ConfigError, validate

sys.path.insert(0, str(Path(__file__).parent))
from study_gans import DRAGAN, LSGAN, MMGAN, NSGAN, WGAN, WGANGP  # noqa: E402

# preset: (loss, penalty, D's norm: the study's disc_batchnorm default, true = batch, the class)
STUDY = {"mm_gan": ("mm", "none", "batch", MMGAN), "ns_gan": ("ns", "none", "batch", NSGAN),
         "lsgan": ("ls", "none", "batch", LSGAN), "wgan": ("wasserstein", "none", "batch", WGAN),
         "wgan_gp": ("wasserstein", "wgan_gp", "none", WGANGP),
         "dragan": ("ns", "dragan", "batch", DRAGAN)}


def _linear(w: list[float], b: float = 0.0) -> nn.Module:
    lin = nn.Linear(len(w), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(b)
    return nn.Sequential(lin, nn.Flatten(0))


def _losses(objective: GAN, D: nn.Module, real: Tensor, z: Tensor) -> tuple:
    """Everything an objective computes on fixed inputs, with the same random draws."""
    torch.manual_seed(7)
    d_loss, d_logs = objective.d_loss(nn.Identity(), D, real, z)
    grads = torch.autograd.grad(d_loss, list(D.parameters()), allow_unused=True)
    g_loss, g_logs = objective.g_loss(nn.Identity(), D, real, z)
    return ({k: v.item() for k, v in {**d_logs, **g_logs}.items()},
            [None if g is None else g.tolist() for g in grads])


@pytest.mark.parametrize("preset", list(STUDY))
def test_study_presets_are_their_objectives(compose_cfg, preset: str) -> None:
    loss, penalty, norm, cls = STUDY[preset]
    cfg = compose_cfg(f"gan={preset}")
    assert (cfg.loss.name, cfg.penalty.name, cfg.gan.name) == (loss, penalty, preset)
    assert discriminator_norm(cfg) == norm  # the study's D
    built = instantiate(cfg.gan.objective)
    # bitwise the same losses, logs and D gradients as the study's class, on a linear critic
    # and on a batch-normed MLP critic (two points per sample: fakes are z)
    torch.manual_seed(0)
    for D in (_linear([0.5, -1.0], b=0.25), MLP(hidden=8, depth=1).critic((2,), "batch")):
        real, z = torch.randn(4, 2), torch.randn(4, 2)
        assert _losses(built, D, real, z) == _losses(cls(), D, real, z)
    assert built.clip == (0.01 if preset == "wgan" else None)
    assert built.penalty == (10.0 if penalty != "none" else 0.0)


def test_ns_gan_preset_by_hand(compose_cfg) -> None:
    ln3 = math.log(3)
    real, z = torch.tensor([[0.0], [ln3]]), torch.tensor([[-ln3], [0.0]])  # sigma: .5 .75 | .25 .5
    objective = instantiate(compose_cfg("gan=ns_gan").gan.objective)
    _, logs = objective.d_loss(nn.Identity(), _linear([1.0]), real, z)
    assert logs["d_real"].item() == pytest.approx((-math.log(0.5) - math.log(0.75)) / 2)
    assert logs["d_fake"].item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)
    g, _ = objective.g_loss(nn.Identity(), _linear([1.0]), real, z)
    assert g.item() == pytest.approx((-math.log(0.25) - math.log(0.5)) / 2)


def test_wgan_gp_preset_by_hand(compose_cfg) -> None:
    real, z = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[-1.0, 0.0], [0.0, 0.0]])
    objective = instantiate(compose_cfg("gan=wgan_gp").gan.objective)
    _, logs = objective.d_loss(nn.Identity(), _linear([3.0, 4.0]), real, z)
    gp = (math.sqrt(1e-4 + 25) - 1) ** 2  # slope 5 everywhere
    assert logs["gp"].item() == pytest.approx(gp)
    assert logs["d_loss"].item() == pytest.approx(-3.5 - 1.5 + 10 * gp)


def test_hinge_sn_preset(compose_cfg) -> None:
    cfg = compose_cfg("gan=hinge_sn")
    assert (cfg.gan.name, cfg.loss.name, cfg.penalty.name, cfg.norm.name) == \
        ("hinge_sn", "hinge", "none", "spectral")
    assert (cfg.gan.lr, cfg.gan.beta1, cfg.gan.beta2, cfg.gan.n_disc) == (2e-4, 0.5, 0.999, 1)
    assert discriminator_norm(cfg) == "spectral" and BN_KEY.split(".")[1] not in cfg.gan
    objective = instantiate(cfg.gan.objective)
    d_real, d_fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-2.0], [0.0]])
    _, logs = objective.d_loss(nn.Identity(), _linear([1.0]), d_real, d_fake)
    assert (logs["d_real"].item(), logs["d_fake"].item()) == (0.25, 0.5)  # relu(1-x), relu(1+x)
    assert "gp" not in logs


@pytest.mark.parametrize(("overrides", "name"), [
    (["loss=hinge", "penalty=r1", "norm=spectral"], "hinge+r1+spectral"),  # on gan=ns_gan
    (["gan=ns_gan", "loss=hinge"], "hinge+none+batch"),  # a recomposed run: all three parts
    (["gan=dragan", "penalty=none"], "ns+none+batch"),
    (["gan=ns_gan", "norm=layer"], "ns+none+layer"),
    (["gan=hinge_sn", "norm=layer"], "hinge+none+layer"),
    (["gan=hinge_sn", "penalty=l2"], "hinge+l2+spectral"),
    (["gan=wgan_gp", "penalty.weight=1"], "wgan_gp"),  # a weight is a hyperparameter
    (["gan=began"], "began"), (["gan=vae", "norm=spectral"], "vae"),
])
def test_a_run_recomposed_on_the_command_line_is_named_by_its_parts(compose_cfg, overrides,
                                                                    name) -> None:
    cfg = compose_cfg(*overrides)
    assert cfg.gan.name == name
    validate(cfg)


def test_command_line_groups_reach_the_objective(compose_cfg) -> None:
    cfg = compose_cfg("gan=wgan", "loss=hinge", "penalty=r1", "penalty.weight=2.5")
    objective = instantiate(cfg.gan.objective)
    assert objective.clip == 0.01  # clipping stays a property of the wgan preset
    assert objective.penalty == 2.5
    D = _linear([3.0, 4.0])
    real, z = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])  # D: 3 | 0
    _, logs = objective.d_loss(nn.Identity(), D, real, z)
    # hinge: relu(1 - 3) + relu(1 + 0); r1 = 1/2 * 25
    assert {k: v.item() for k, v in logs.items()} == {
        "d_real": 0.0, "d_fake": 1.0, "gp": 12.5, "d_loss": 1.0 + 2.5 * 12.5}
    # the study's searched key still sets the weight
    assert instantiate(compose_cfg("gan=dragan", "gan.objective.penalty=3").gan.objective) \
        .penalty == 3.0


@pytest.mark.parametrize(("overrides", "norm", "name"), [
    ([], "batch", "ns_gan"), (["gan=wgan_gp"], "none", "wgan_gp"), (["gan=began"], "none", "began"),
    # the study's switch is norm=batch|none: either keeps the preset's name
    (["norm=none"], "none", "ns_gan"), (["gan=wgan_gp", "norm=batch"], "batch", "wgan_gp"),
    (["norm=spectral"], "spectral", "ns+none+spectral"), (["norm=layer"], "layer", "ns+none+layer"),
    (["gan=hinge_sn", "norm=none"], "none", "hinge+none+none"), (["gan=vae", "norm=none"], "none", "vae"),
])
def test_norm_is_ds_one_normalisation(compose_cfg, overrides, norm, name) -> None:
    cfg = compose_cfg(*overrides)
    assert discriminator_norm(cfg) == norm and cfg.gan.name == name
    assert "disc_batchnorm" not in cfg.gan  # the switch is said through norm alone
    validate(cfg)


@pytest.mark.parametrize(("overrides", "bn"), [(["norm=spectral"], "true"),
                                               (["norm=batch"], "false"), ([], "false")])
def test_a_disc_batchnorm_other_than_norm_is_a_config_error(compose_cfg, overrides, bn) -> None:
    with pytest.raises(ConfigError, match=rf"gan.disc_batchnorm={bn}: D's normalisation is "
                                          r"norm=\w+, .* the switch is norm=batch \(true\) or "
                                          r"norm=none \(false\): set norm= alone"):
        validate(compose_cfg(*overrides, f"+gan.disc_batchnorm={bn}"))


def test_a_preset_without_a_norm_is_a_config_error(compose_cfg) -> None:
    with pytest.raises(ConfigError, match=r"norm: gan=began names no normalisation for D; pick "
                                          r"one with norm=batch\|layer\|none\|spectral"):
        validate(compose_cfg("gan=began", "~norm"))


@pytest.mark.parametrize(("overrides", "message"), [
    (["gan=began", "loss=hinge"], r"loss=hinge: gan=began \(benchmark.objectives.gans.BEGAN\) "
                                  r"has its own loss and takes no loss; valid with it: no loss="),
    (["gan=vae", "penalty=r1"], r"penalty=r1: gan=vae .* valid with it: penalty=none or no "
                                r"penalty=.* take loss=hinge\|ls\|mm\|ns\|wasserstein, "
                                r"penalty=dragan\|l2\|none\|r1\|wgan_gp"),
    (["gan=ns_gan", "~loss"], r"loss: gan=ns_gan is built from a loss; pick one of "
                                  r"\['hinge', 'ls', 'mm', 'ns', 'wasserstein'\]"),
])
def test_a_group_the_objective_does_not_take_is_a_config_error(compose_cfg, overrides,
                                                               message) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(compose_cfg(*overrides))


def test_penalty_none_is_accepted_where_no_penalty_applies(compose_cfg) -> None:
    validate(compose_cfg("gan=vae", "penalty=none"))
    with pytest.raises(ValueError, match="without a penalty term"):
        GAN("benchmark.objectives.losses.hinge_d", "benchmark.objectives.losses.hinge_g",
            penalty=1.0)


def test_a_drawn_switch_sets_norm_while_d_is_on_it(compose_cfg) -> None:
    # on the switch (batch or none, from the preset or norm=): the draw decides, the name stays
    seen = {}
    for overrides in (["gan=ns_gan"], ["gan=ns_gan", "norm=none"], ["gan=wgan_gp", "norm=batch"]):
        for sample in range(1, 8):
            cfg, hparams = apply_sample(compose_cfg(*overrides, f"sample={sample}"))
            assert discriminator_norm(cfg) == ("batch" if hparams[BN_KEY] else "none")
            assert cfg.gan.name == overrides[0][4:]  # a drawn switch is the preset's hyperparameter
            seen.setdefault(tuple(overrides), set()).add(hparams[BN_KEY])
            validate(cfg)
    assert all(drawn == {True, False} for drawn in seen.values()), seen
    # the narrow range keeps WGAN-GP's batch norm off, whatever norm= said
    cfg, hparams = apply_sample(compose_cfg("gan=wgan_gp", "search=narrow", "norm=batch",
                                            "sample=1"))
    assert discriminator_norm(cfg) == "none" and hparams[BN_KEY] is False
    # off the switch (layer, spectral): never drawn away, recorded as no batch norm
    for overrides in (["gan=hinge_sn"], ["gan=ns_gan", "norm=layer"]):
        for sample in (0, 1, 2, 3):
            cfg, hparams = apply_sample(compose_cfg(*overrides, f"sample={sample}"))
            assert discriminator_norm(cfg) == compose_cfg(*overrides).norm.name
            assert hparams[BN_KEY] is False
    # applied after the draw: every other key keeps what it drew
    cfg = compose_cfg("gan=hinge_sn")
    for i in range(1, 6):
        drawn = draw(search_space(cfg), cfg.gan.name, "wide", i)
        assert pin_norm(drawn, cfg) == {**drawn, "norm.name": "spectral", BN_KEY: False}


# Each preset's D normalisation before norm became its only source: its gan.disc_batchnorm
# default (true: batch, false: none), and hinge_sn's explicit spectral.
BEFORE = {"mm_gan": "batch", "ns_gan": "batch", "lsgan": "batch", "wgan": "batch",
          "wgan_gp": "none", "dragan": "batch", "began": "none", "vae": "batch",
          "hinge_sn": "spectral", "ebgan": "batch", "magan": "batch", "mcgan": "batch",
          "fisher_gan": "none", "gmmn": "none", "mmd_gan": "none", "cramer_gan": "none"}


@pytest.mark.parametrize("preset", sorted(BEFORE))
def test_presets_keep_their_d(compose_cfg, preset: str) -> None:
    assert discriminator_norm(compose_cfg(f"gan={preset}")) == BEFORE[preset]


def test_a_sample_that_draws_no_batchnorm_trains_d_without_it(compose_cfg) -> None:
    built = {}
    for sample in range(1, 8):
        cfg, hparams = apply_sample(compose_cfg("gan=ns_gan", "arch=mlp", f"sample={sample}"))
        D = instantiate(cfg.gan.objective).build_discriminator(instantiate(cfg.arch), (2,), 8,
                                                               discriminator_norm(cfg))
        built[hparams[BN_KEY]] = any(isinstance(m, nn.BatchNorm1d) for m in D.modules())
    assert built == {True: True, False: False}


def test_the_norm_group_offers_what_the_nets_build() -> None:
    from benchmark.config_dir import options
    from benchmark.nets import NORMS

    assert options("norm") == sorted(NORMS)
