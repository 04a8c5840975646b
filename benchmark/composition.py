"""An experiment as loss x penalty x normalisation x architecture (Kurach et al. 2019), each a
top-level config group, and how the study's presets and its batch-norm switch fit in.

    loss=ns|mm|ls|wasserstein|hinge        conf/loss/     D's and G's loss functions
    penalty=none|wgan_gp|dragan|r1|l2      conf/penalty/  a term added to D's loss, and its weight
    norm=none|batch|layer|spectral         conf/norm/     D's normalisation
    arch=...                               conf/arch/

A GAN preset (conf/gan/ns_gan.yaml, ...) picks its loss, penalty and norm with `override` lines
and builds `benchmark.objectives.gans.GAN` from whatever the groups hold, so
`gan-train gan=ns_gan loss=hinge` trains the hinge loss with NS GAN's optimiser settings. The run
keeps the preset's name while loss, penalty and norm are the preset's; otherwise it is named by
its parts, e.g. `hinge+r1+spectral` (the `gan_name` resolver, registered in resolvers.py):
results never file a hinge run under ns_gan. Objectives with their own loss (BEGAN, the VAE, ...)
compose no loss or penalty: picking one for them is a config error.

D's normalisation is the `norm` group and nothing else (`discriminator_norm`). Every preset names
its own, the study's objectives `batch` or `none`. The study's switch `gan.disc_batchnorm` is
that choice said the study's way: true is norm=batch, false norm=none. Its search spaces still
draw it, and a draw is applied to `norm` (`pin_norm`, on every sample) while D's norm is on the
switch; `layer` and `spectral` are not on it and are never drawn. So one value decides D, and a
drawn switch, batch or none, is a hyperparameter of the preset: the run keeps its name.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from benchmark.config_dir import options

COMPOSABLE = ("loss", "penalty")  # the groups an objective class may compose (`composes`)
NORM_KEY = "norm.name"
# The study's switch (compare_gan's `discriminator_batchnorm`) and the two norms it chooses from.
BN_KEY = "gan.disc_batchnorm"
SWITCH = {True: "batch", False: "none"}
_ABSENT = object()


def on_switch(norm: str | None) -> bool:
    """Whether a norm is one of the two the study's batch-norm switch chooses from."""
    return norm in SWITCH.values()


def gan_name(preset: str, loss: str, penalty: str, norm: str, *, _root_: DictConfig) -> str:
    """`${gan_name:PRESET,LOSS,PENALTY,NORM}`: PRESET while the run's loss and penalty are the
    preset's and its norm is the preset's NORM, or both norms are on the study's switch (a drawn
    switch is a hyperparameter of the preset); else loss+penalty+norm of the run. Without a loss
    group (a preset file read on its own, or a config error that `problems` reports) it is
    PRESET."""
    got = [OmegaConf.select(_root_, f"{group}.name") for group in ("loss", "penalty", "norm")]
    if got[0] is None or (got[:2] == [loss, penalty]
                          and (got[2] == norm or on_switch(got[2]) and on_switch(norm))):
        return preset
    return "+".join(str(part) for part in got if part is not None)


def discriminator_norm(cfg: DictConfig) -> str:
    """D's normalisation for `Objective.build_discriminator`: the `norm` group's choice."""
    norm = OmegaConf.select(cfg, NORM_KEY, default=None)
    if norm is None:  # `validate` reports it first, as a config error
        raise ValueError(_no_norm(cfg))
    return norm


def describe(cfg: DictConfig) -> dict[str, Any]:
    """{loss, penalty, norm} of a run, for its result.json (None: the objective's own loss, no
    penalty group, no norm chosen). Never raises: a broken config still gets a result saying it
    failed."""
    return {group: OmegaConf.select(cfg, f"{group}.name", default=None,
                                    throw_on_resolution_failure=False)
            for group in ("loss", "penalty", "norm")}


def pin_norm(setting: dict[str, Any], cfg: DictConfig) -> dict[str, Any]:
    """A sample's setting (its range defaults and draws, {config key: value}) with the study's
    switch applied to D's normalisation: a drawn gan.disc_batchnorm sets norm to batch or none
    while the run's norm is on the switch. The setting also records the switch as D ends up
    (false for layer and spectral), so the sample's hparams show it whatever was drawn."""
    norm = OmegaConf.select(cfg, NORM_KEY, default=None)
    if norm is None:
        return setting
    if on_switch(norm) and BN_KEY in setting:
        norm = SWITCH[bool(setting[BN_KEY])]
    return {**setting, NORM_KEY: norm, BN_KEY: norm == SWITCH[True]}


def problems(cfg: DictConfig) -> list[str]:
    """Composition mistakes, one line each (for `validate`): a group the objective does not
    compose, a group it needs left unset, no norm, a gan.disc_batchnorm that says other than
    norm."""
    out = []
    norm = OmegaConf.select(cfg, NORM_KEY, default=None)
    # written by pin_norm for a sample, or by hand (`+gan.disc_batchnorm=...`)
    bn = OmegaConf.select(cfg, BN_KEY, default=_ABSENT)
    if norm is None:
        out.append("  " + _no_norm(cfg))
    elif bn is not _ABSENT and bn is not (norm == SWITCH[True]):
        says = str(norm == SWITCH[True]).lower()
        out.append(f"  {BN_KEY}={_yaml(bn)}: D's normalisation is norm={norm}, which says "
                   f"{BN_KEY}={says}; the switch is norm=batch (true) or norm=none (false): set "
                   f"norm= alone")
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


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _no_norm(cfg: DictConfig) -> str:
    gan = OmegaConf.select(cfg, "gan.name", default=None, throw_on_resolution_failure=False)
    return (f"norm: gan={gan} names no normalisation for D; pick one with norm="
            f"{'|'.join(options('norm'))}, or give the preset a default (its defaults list: "
            f"`- override /norm@_global_.norm: batch`)")
