import math

import pytest
from omegaconf import OmegaConf

from benchmark.search import apply_sample, draw, search_space

OBJECTIVES = ["mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae"]

# The study's ranges (compare_gan v1 params.py), as the issue states them.
WIDE = {
    "gan.lr": ("log", -5, -2), "gan.beta1": ("lin", 0, 1), "gan.n_disc": ("set", {1, 5}),
    "gan.disc_batchnorm": ("set", {True, False}), "gan.objective.clip": ("log", -3, 0),
    "gan.objective.penalty": ("log", -1, 2), "gan.objective.lambda_k": ("log", -4, -2),
    "gan.objective.gamma": ("lin", 0, 1),
}
NARROW = {
    "gan.lr": ("log", -4, -3), "gan.beta1": ("set", {0.5}), "gan.n_disc": ("set", {1}),
    "gan.disc_batchnorm": ("set", {True, False}),
    "gan.objective.clip": ("log", -2, 0), "gan.objective.penalty": ("log", -1, 1),
    "gan.objective.lambda_k": ("set", {1e-3}), "gan.objective.gamma": ("lin", 0.6, 0.9),
}


def _within(value, rule) -> bool:
    kind, *arg = rule
    if kind == "set":
        return value in arg[0]
    lo, hi = arg
    v = math.log10(value) if kind == "log" else value
    return lo <= v <= hi


@pytest.mark.parametrize("gan", OBJECTIVES)
def test_sample_zero_is_the_default_setting(compose_cfg, gan):
    cfg = compose_cfg(f"gan={gan}", "sample=0")
    out, hparams = apply_sample(cfg)
    # nothing changes; the sample records the study's switch as D has it (norm=batch: true)
    assert OmegaConf.to_container(out.gan) == {**OmegaConf.to_container(cfg.gan),
                                               "disc_batchnorm": cfg.norm.name == "batch"}
    assert out.norm.name == cfg.norm.name
    assert hparams["gan.lr"] == cfg.gan.lr


@pytest.mark.parametrize("space", ["wide", "narrow"])
@pytest.mark.parametrize("gan", OBJECTIVES)
def test_samples_are_deterministic_and_within_ranges(compose_cfg, gan, space):
    ranges = WIDE if space == "wide" else NARROW
    cfg = compose_cfg(f"gan={gan}", f"search={space}")
    keys = set(search_space(cfg))
    for i in range(1, 40):
        setting = draw(search_space(cfg), gan, space, i)
        assert setting == draw(search_space(cfg), gan, space, i)
        assert set(setting) == keys
        for key, value in setting.items():
            assert _within(value, ranges[key]), (key, value)
        if space == "narrow" and gan in ("wgan_gp", "dragan"):
            assert setting["gan.disc_batchnorm"] is False
    # different samples and different objectives give different settings
    assert draw(search_space(cfg), gan, space, 1) != draw(search_space(cfg), gan, space, 2)


def test_objective_specific_keys_only_where_they_exist(compose_cfg):
    assert "gan.objective.clip" in search_space(compose_cfg("gan=wgan"))
    assert "gan.objective.clip" not in search_space(compose_cfg("gan=ns_gan"))
    assert {"gan.objective.gamma", "gan.objective.lambda_k"} <= set(search_space(compose_cfg("gan=began")))


def test_apply_sample_changes_config_and_reports_hparams(compose_cfg):
    cfg = compose_cfg("gan=wgan", "sample=3")
    out, hparams = apply_sample(cfg)
    assert out.gan.lr == hparams["gan.lr"] != cfg.gan.lr
    assert out.gan.objective.clip == hparams["gan.objective.clip"]
    assert apply_sample(compose_cfg("gan=ns_gan"))[1] == {}  # sample=null: untouched


def test_bad_sample_is_a_config_error(compose_cfg):
    from benchmark.validate import ConfigError

    with pytest.raises(ConfigError, match="sample"):
        apply_sample(compose_cfg("sample=-1"))


def test_vae_narrow_range_starts_without_batch_norm(compose_cfg):
    # compare_gan params.py@49495fd VAEHyperParams: the narrow range adds discriminator_batchnorm
    # with default False; TuneParams' sample 0 is GetDefaultParams of that range. The wide range
    # keeps the common default True.
    narrow, _ = apply_sample(compose_cfg("gan=vae", "search=narrow", "sample=0"))
    assert narrow.gan.disc_batchnorm is False
    wide, _ = apply_sample(compose_cfg("gan=vae", "search=wide", "sample=0"))
    assert wide.gan.disc_batchnorm is True
    assert (narrow.norm.name, wide.norm.name) == ("none", "batch")  # what D is built with
    # a norm off the switch (layer, spectral) is never drawn or defaulted away
    kept, _ = apply_sample(compose_cfg("gan=vae", "search=narrow", "sample=0", "norm=layer"))
    assert kept.norm.name == "layer" and kept.gan.disc_batchnorm is False
    # samples > 0 draw the key from the range as before
    drawn = {apply_sample(compose_cfg("gan=vae", "search=narrow", f"sample={i}"))[0]
             .gan.disc_batchnorm for i in range(1, 12)}
    assert drawn == {True, False}


@pytest.mark.parametrize("gan", [g for g in OBJECTIVES if g != "vae"])
def test_other_objectives_keep_their_defaults_in_the_narrow_range(compose_cfg, gan):
    cfg = compose_cfg(f"gan={gan}", "search=narrow", "sample=0")
    out, _ = apply_sample(cfg)
    assert OmegaConf.to_container(out.gan) == {**OmegaConf.to_container(cfg.gan),
                                               "disc_batchnorm": cfg.norm.name == "batch"}
    assert out.norm.name == cfg.norm.name
