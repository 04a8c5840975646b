"""The VAE's and BEGAN's two forms each (the study's code, compare_gan v1 @49495fd, as the
default; the paper's / ours before as an option), against values worked out by hand with
stand-in networks whose outputs are known."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from benchmark.nets import MLP, InfoGAN
from benchmark.objectives import BEGAN, VAE


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-6, abs=1e-9)


class Fixed(nn.Module):
    """Returns the same row for every sample, whatever the input (encoder / decoder stand-in)."""

    def __init__(self, row: list[float]) -> None:
        super().__init__()
        self.row = nn.Parameter(torch.tensor(row))

    def forward(self, x: Tensor) -> Tensor:
        return self.row.expand(x.shape[0], -1)


class Gain(nn.Module):
    """v -> c * v: a stand-in auto-encoder D (L(v) = |1 - c| mean |v|) or generator."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, v: Tensor) -> Tensor:
        return self.c * v

    def set(self, c: float) -> None:
        """Stands in for an optimiser step."""
        with torch.no_grad():
            self.c.fill_(c)


# ----------------------------------------------------------------------------------------- VAE

# Encoder output: mu = [0.5, -1], raw = [0, 0] -> sigma = 1e-6 + ln 2 for every sample.
ENC = [0.5, -1.0, 0.0, 0.0]
SIGMA = 1e-6 + math.log(2)
KL = 0.5 * sum(m * m + SIGMA**2 - math.log(1e-8 + SIGMA**2) - 1 for m in (0.5, -1.0))


def _rgb_case() -> tuple[nn.Module, Tensor, float]:
    """A 3-channel 1x2 image batch and a decoder with p = 0.25 everywhere; returns the summed
    (over C, H, W) cross-entropy averaged over the batch, by hand."""
    decoder = nn.Sequential(Fixed([0.25] * 6), nn.Unflatten(1, (3, 1, 2)))
    real = torch.tensor([
        [[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]],  # four 1s, two 0s
        [[[0.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]]],  # six 0s
    ])
    # -log p(x) per pixel: x = 1 -> -log 0.25, x = 0 -> -log 0.75.
    sample1 = -(4 * math.log(0.25) + 2 * math.log(0.75))
    sample2 = -(6 * math.log(0.75))
    return decoder, real, (sample1 + sample2) / 2


def test_vae_reconstruction_is_averaged_over_channels_by_default() -> None:
    # compare_gan VAE.py@49495fd: reduce_sum over axes [1, 2] (H, W) of NHWC, then reduce_mean
    # over batch and channels -> the summed cross-entropy / C.
    decoder, real, summed = _rgb_case()
    vae = VAE()
    assert vae.recon_reduction == "channel_mean"
    loss, logs = vae.g_loss(decoder, Fixed(ENC), real, torch.zeros(2, 2))
    assert logs["nll"].item() == approx(summed / 3)
    assert logs["kl"].item() == approx(KL)
    assert loss.item() == approx(summed / 3 + KL)


def test_vae_sum_option_is_the_textbook_elbo() -> None:
    decoder, real, summed = _rgb_case()
    loss, logs = VAE(recon_reduction="sum").g_loss(decoder, Fixed(ENC), real, torch.zeros(2, 2))
    assert logs["nll"].item() == approx(summed)
    assert loss.item() == approx(summed + KL)


def test_vae_reductions_agree_on_one_channel_images_and_points() -> None:
    decoder = nn.Sequential(Fixed([0.25] * 4), nn.Unflatten(1, (1, 2, 2)))
    real = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    by_hand = (-(2 * math.log(0.25) + 2 * math.log(0.75)) - 4 * math.log(0.75)) / 2
    for reduction in ("channel_mean", "sum"):
        _, logs = VAE(recon_reduction=reduction).g_loss(decoder, Fixed(ENC), real,
                                                        torch.zeros(2, 2))
        assert logs["nll"].item() == approx(by_hand)
    # Points (D,) have no channel axis: 0.5 sum (x - x^)^2 for both (decoder output fixed).
    points = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    dec = Fixed([0.0, 1.0])
    by_hand = (0.5 * (1 + 1) + 0.5 * (0 + 1)) / 2
    for reduction in ("channel_mean", "sum"):
        vae = VAE(likelihood="gaussian", recon_reduction=reduction)
        _, logs = vae.g_loss(dec, Fixed(ENC), points, torch.zeros(2, 2))
        assert logs["nll"].item() == approx(by_hand)


def _activations(net: nn.Module) -> tuple[int, int]:
    relu = sum(type(m) is nn.ReLU for m in net.modules())
    leaky = sum(type(m) is nn.LeakyReLU for m in net.modules())
    return relu, leaky


def test_vae_decoder_is_the_generator_with_relu_by_default() -> None:
    # compare_gan VAE.py@49495fd decoder: tf.nn.relu after each of its three batch norms, where
    # abstract_gan.generator has lrelu; the layers are otherwise the same.
    arch = InfoGAN(width=0.1)
    dec = VAE().build_generator(arch, 8, (3, 8, 8))
    assert _activations(dec) == (3, 0)
    dec_lrelu = VAE(decoder_activation="lrelu").build_generator(arch, 8, (3, 8, 8))
    assert _activations(dec_lrelu) == (0, 3)
    assert _activations(arch.generator(8, (3, 8, 8))) == (0, 3)  # the GANs' G is unchanged
    sizes = [p.shape for p in dec.parameters()]
    assert sizes == [p.shape for p in arch.generator(8, (3, 8, 8)).parameters()]
    assert dec(torch.zeros(2, 8)).shape == (2, 3, 8, 8)


def test_vae_decoder_on_other_architectures_is_their_generator() -> None:
    arch = MLP()
    dec = VAE().build_generator(arch, 4, (2,))
    assert [p.shape for p in dec.parameters()] == [p.shape for p in arch.generator(4, (2,)).parameters()]


@pytest.mark.parametrize("kwargs", [{"recon_reduction": "mean"}, {"decoder_activation": "tanh"}])
def test_vae_unknown_options_name_the_valid_ones(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="valid"):
        VAE(**kwargs)


# --------------------------------------------------------------------------------------- BEGAN

# real: mean |x| = 1.5; z = ones, G = Gain(g) -> G(z) = g, mean |G(z)| = g.
REAL = torch.tensor([[1.0, -3.0], [2.0, 0.0]])
Z = torch.ones(2, 2)
GAMMA, LAMBDA = 0.75, 1e-3


def test_began_k_is_not_clipped_by_default() -> None:
    # compare_gan BEGAN.py@49495fd: update_k = k.assign(k + lambda (gamma L(x) - L(G(z)))).
    D, G = Gain(0.5), Gain(1.0)  # L(x) = 0.75, L(G(z)) = 0.5
    began = BEGAN(gamma=GAMMA, lambda_k=100.0)
    began.d_loss(G, D, REAL, Z)
    began.after_d_step(D)
    assert float(began.k) == approx(100.0 * (0.75 * 0.75 - 0.5))  # 6.25, above 1
    G.set(4.0)  # L(G(z)) = 2
    began.d_loss(G, D, REAL, Z)
    began.after_d_step(D)
    assert float(began.k) == approx(6.25 + 100.0 * (0.75 * 0.75 - 2.0))  # -137.5, below 0


def test_began_balance_is_measured_after_the_d_update_by_default() -> None:
    D, G = Gain(0.5), Gain(1.0)
    began = BEGAN(gamma=GAMMA, lambda_k=LAMBDA)
    _, logs = began.d_loss(G, D, REAL, Z)  # L(x) = 0.5 * 1.5 = 0.75, L(G(z)) = 0.5 * 1 = 0.5
    assert logs["d_real"].item() == approx(0.75) and logs["d_fake"].item() == approx(0.5)
    D.set(0.75)  # the D update: now L(x) = 0.25 * 1.5 = 0.375, L(G(z)) = 0.25
    began.after_d_step(D)
    assert float(began.k) == approx(LAMBDA * (GAMMA * 0.375 - 0.25))  # 3.125e-5

    before = BEGAN(gamma=GAMMA, lambda_k=LAMBDA, k_errors="before_update")
    D, G = Gain(0.5), Gain(1.0)
    before.d_loss(G, D, REAL, Z)
    D.set(0.75)
    before.after_d_step(D)
    assert float(before.k) == approx(LAMBDA * (GAMMA * 0.75 - 0.5))  # 6.25e-5: the old errors
    G.set(2.0)
    before.after_g_step()
    assert float(before.k) == approx(LAMBDA * (GAMMA * 0.75 - 0.5))  # the G step changes nothing


def test_began_last_d_step_before_g_sees_the_new_g() -> None:
    # compare_gan runs D update, G update (when due), then the k update on that step's batch
    # and z; our loop's G step follows the last of n_disc D steps, so that step's k is redone.
    D, G = Gain(0.5), Gain(1.0)
    began = BEGAN(gamma=GAMMA, lambda_k=LAMBDA)
    began.d_loss(G, D, REAL, Z)
    D.set(0.75)
    began.after_d_step(D)
    k1 = LAMBDA * (GAMMA * 0.375 - 0.25)
    assert float(began.k) == approx(k1)
    began.d_loss(G, D, REAL, Z)
    D.set(0.875)  # L(x) = 0.125 * 1.5 = 0.1875, L(G(z)) = 0.125 * g
    began.after_d_step(D)
    assert float(began.k) == approx(k1 + LAMBDA * (GAMMA * 0.1875 - 0.125))
    G.set(2.0)  # the G update: L(G(z)) = 0.125 * 2 = 0.25
    began.after_g_step()
    k2 = k1 + LAMBDA * (GAMMA * 0.1875 - 0.25)  # -7.8125e-5: below 0, unclipped
    assert float(began.k) == approx(k2)
    assert not torch.as_tensor(began.k).requires_grad
    began.after_g_step()  # nothing pending: a second call changes nothing
    assert began.state_dict() == {"k": approx(k2)}


def test_began_paper_form_clips_after_the_g_step_too() -> None:
    D, G = Gain(0.5), Gain(1.0)
    began = BEGAN(gamma=GAMMA, lambda_k=100.0, k_clip=True)
    began.d_loss(G, D, REAL, Z)
    began.after_d_step(D)  # 100 * (0.5625 - 0.5) = 6.25 -> 1
    assert float(began.k) == 1.0
    G.set(4.0)  # L(G(z)) = 2: redone from k = 0: 100 * (0.5625 - 2) -> 0
    began.after_g_step()
    assert float(began.k) == 0.0


def test_began_unknown_k_errors_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="before_update"):
        BEGAN(k_errors="pre")


# ------------------------------------------------------------------------------------- configs

def test_configs_default_to_the_study_forms(compose_cfg) -> None:
    began = instantiate(compose_cfg("gan=began").gan.objective)
    assert (began.k_clip, began.k_errors) == (False, "after_update")
    vae = instantiate(compose_cfg("gan=vae").gan.objective)
    assert (vae.recon_reduction, vae.decoder_activation) == ("channel_mean", "relu")
    paper = instantiate(compose_cfg("gan=began", "gan.objective.k_clip=true",
                                    "gan.objective.k_errors=before_update").gan.objective)
    assert (paper.k_clip, paper.k_errors) == (True, "before_update")


def test_vae_warns_when_the_decoder_was_not_built_by_it() -> None:
    arch = InfoGAN(width=0.1)
    enc = VAE().build_discriminator(arch, (1, 8, 8), 4, "none")
    with pytest.warns(UserWarning, match="build_generator"):
        VAE().generator_parameters(arch.generator(4, (1, 8, 8)), enc)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VAE().generator_parameters(VAE().build_generator(arch, 4, (1, 8, 8)), enc)
        VAE(decoder_activation="lrelu").generator_parameters(arch.generator(4, (1, 8, 8)), enc)
