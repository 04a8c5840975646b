import re

import pytest

from benchmark.validate import ConfigError, validate


def test_real_configs_validate(compose_cfg):
    for gan in ["mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae"]:
        validate(compose_cfg(f"gan={gan}"))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("gan.lr=-0.001", "gan.lr"),
        ("gan.lr=0", "gan.lr"),
        ("gan.beta1=1.5", "gan.beta1"),
        ("gan.beta2=1.0", "gan.beta2"),
        ("gan.n_disc=0", "gan.n_disc"),
        ("eval.num_samples=1", "eval.num_samples"),
        ("train.steps=0", "train.steps"),
        ("train.batch_size=0", "train.batch_size"),
        ("eval.reference_split=val", "eval.reference_split"),
        ("+gan.objective.clip=-1", "gan.objective.clip"),
        ("gan.d_batch=both", "gan.d_batch"),
    ],
)
def test_invalid_values_name_their_key(compose_cfg, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose_cfg(override))


def test_all_problems_reported_at_once(compose_cfg):
    with pytest.raises(ConfigError) as e:
        validate(compose_cfg("gan.lr=-1", "train.steps=0"))
    assert "gan.lr" in str(e.value) and "train.steps" in str(e.value)


def test_d_batch_reaches_the_objective(compose_cfg):
    from hydra.utils import instantiate

    for gan in ["mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan"]:
        assert instantiate(compose_cfg(f"gan={gan}").gan.objective).d_batch == "separate"
        assert instantiate(
            compose_cfg(f"gan={gan}", "gan.d_batch=joint").gan.objective).d_batch == "joint"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("gan=ebgan", "gan.objective.margin=-1"), "gan.objective (EBGAN): EBGAN margin must be"),
        (("gan=fisher_gan", "gan.objective.rho=-0.5"), "gan.objective (FisherGAN): Fisher GAN rho"),
        (("gan=mmd_gan", "gan.objective.kernel=cubic"), "MMD GAN kernel='cubic' is not known"),
    ],
)
def test_objective_hyperparameters_are_checked_before_the_run(compose_cfg, overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(compose_cfg(*overrides))
