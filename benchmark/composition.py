"""An experiment as loss x penalty x normalisation x architecture (Kurach et al. 2019), each a
top-level config group, and how the study's presets and its `gan.disc_batchnorm` fit in.

    loss=ns|mm|ls|wasserstein|hinge        conf/loss/     D's and G's loss functions
    penalty=none|wgan_gp|dragan|r1|l2      conf/penalty/  a term added to D's loss, and its weight
    norm=none|batch|layer|spectral         conf/norm/     D's normalisation
    arch=...                               conf/arch/

A GAN preset (conf/gan/ns_gan.yaml, ...) picks its loss and penalty with `override` lines and
builds `benchmark.objectives.gans.GAN` from whatever the groups hold, so
`gan-train gan=ns_gan loss=hinge` trains the hinge loss with NS GAN's optimiser settings. The run
keeps the preset's name while loss, penalty and norm are the preset's; otherwise it is named by
its parts, e.g. `hinge+r1+spectral` (the `gan_name` resolver, registered in resolvers.py): results never file a hinge
run under ns_gan. Objectives with their own loss (BEGAN, the VAE, ...) compose no group: picking
one for them is a config error.

Normalisation and the study's switch: with `norm` unset (the default), D's normalisation is the
study's `gan.disc_batchnorm` (true: batch, false: none), which its search spaces sample. An
explicit `norm=X` sets `gan.disc_batchnorm` to X == batch (presets read it from `norm.batchnorm`)
and pins it in `sample` draws; a `gan.disc_batchnorm` that says otherwise is a config error.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from benchmark.config_dir import CONF_DIR

COMPOSABLE = ("loss", "penalty")  # the groups an objective class may compose (`composes`)
BN_KEY = "gan.disc_batchnorm"


def gan_name(preset: str, loss: str, penalty: str, norm: str | None = None, *,
             _root_: DictConfig) -> str:
    """`${gan_name:PRESET,LOSS,PENALTY[,NORM]}`: PRESET while the run's loss, penalty and
    explicit norm are the preset's (NORM, or no `norm=` when the preset names none), else
    loss+penalty[+norm] of the run. Without a loss group (a preset file read on its own, or a
    config error that `problems` reports) it is PRESET."""
    got = [OmegaConf.select(_root_, f"{group}.name") for group in ("loss", "penalty", "norm")]
    if got[0] is None or got == [loss, penalty, norm]:
        return preset
    return "+".join(str(part) for part in got if part is not None)



def options(group: str) -> list[str]:
    """The choices of a config group, from its conf/ directory."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def explicit_norm(cfg: DictConfig) -> str | None:
    """The `norm=` choice, or None when D's normalisation follows gan.disc_batchnorm."""
    return OmegaConf.select(cfg, "norm.name", default=None)


def discriminator_norm(cfg: DictConfig) -> str:
    """D's normalisation for `Objective.build_discriminator`: the explicit `norm=`, else the
    study's switch (gan.disc_batchnorm true: batch, false: none). ValueError on a contradiction
    (`validate` reports it first, as a config error)."""
    norm, bn = explicit_norm(cfg), OmegaConf.select(cfg, BN_KEY, default=False)
    if norm is None:
        return "batch" if bn else "none"
    if bool(bn) != (norm == "batch"):
        raise ValueError(_contradiction(norm, bn))
    return norm


def describe(cfg: DictConfig) -> dict[str, Any]:
    """{loss, penalty, norm} of a run, for its result.json (None: the objective's own loss or no
    penalty group). Never raises: a contradictory config still gets a result saying it failed."""
    bn = OmegaConf.select(cfg, BN_KEY, default=False, throw_on_resolution_failure=False)
    return {"loss": OmegaConf.select(cfg, "loss.name", default=None),
            "penalty": OmegaConf.select(cfg, "penalty.name", default=None),
            "norm": explicit_norm(cfg) or ("batch" if bn else "none")}


def pin_norm(setting: dict[str, Any], cfg: DictConfig) -> dict[str, Any]:
    """A sample's drawn setting with gan.disc_batchnorm set to what an explicit `norm=` says.
    After the draw, not in the space: every other key keeps the value it drew."""
    norm = explicit_norm(cfg)
    if norm is not None and BN_KEY in setting:
        setting = {**setting, BN_KEY: norm == "batch"}
    return setting


def problems(cfg: DictConfig) -> list[str]:
    """Composition mistakes, one line each (for `validate`): a group the objective does not
    compose, a group it needs left unset, norm against gan.disc_batchnorm."""
    out = []
    norm, bn = explicit_norm(cfg), OmegaConf.select(cfg, BN_KEY, default=None)
    if norm is not None and isinstance(bn, bool) and bn != (norm == "batch"):
        out.append("  " + _contradiction(norm, bn))
    target = OmegaConf.select(cfg, "gan.objective._target_", default=None)
    try:
        from hydra.utils import get_class

        composes = getattr(get_class(target), "composes", ())
    except Exception:  # no or a bad _target_: instantiating it says what is wrong
        return out
    gan = OmegaConf.select(cfg, "gan.name", default=None, throw_on_resolution_failure=False)
    for group in COMPOSABLE:
        chosen = OmegaConf.select(cfg, f"{group}.name", default=None)
        if group in composes and chosen is None:
            out.append(f"  {group}: gan={gan} is built from a {group}; "
                       f"pick one of {options(group)}")
        elif group not in composes and chosen is not None and (group, chosen) != ("penalty",
                                                                                   "none"):
            valid = "penalty=none or no penalty=" if group == "penalty" else "no loss="
            out.append(f"  {group}={chosen}: gan={gan} ({target}) has its own loss and takes no "
                       f"{group}; valid with it: {valid}. The loss x penalty presets (e.g. "
                       f"gan=ns_gan) take loss={'|'.join(options('loss'))}, "
                       f"penalty={'|'.join(options('penalty'))}")
    return out


def _contradiction(norm: str, bn: Any) -> str:
    return (f"norm={norm} contradicts {BN_KEY}={bn}: norm=batch means {BN_KEY}=true, any other "
            f"norm false; set only one of them")
