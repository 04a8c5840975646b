"""Each objective's d_loss and g_loss against hand-computed values, with stand-in networks:
G is the identity (so the fakes are z) and D a linear map with known weights."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from benchmark.nets import InfoGAN
from benchmark.objectives import BEGAN, VAE, Objective, losses
from benchmark.objectives.gans import GAN

sys.path.insert(0, str(Path(__file__).parent))
from study_gans import DRAGAN, LSGAN, MMGAN, NSGAN, WGAN, WGANGP  # noqa: E402

LN3 = math.log(3)


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-6, abs=1e-7)


def linear_critic(w: list[float], b: float = 0.0) -> nn.Module:
    lin = nn.Linear(len(w), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(b)
    return nn.Sequential(lin, nn.Flatten(0))


class Scale(nn.Module):
    """A stand-in auto-encoder D(v) = c * v."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, v: Tensor) -> Tensor:
        return self.c * v


class Fixed(nn.Module):
    """Returns the same row for every sample (a stand-in encoder), with a parameter to train."""

    def __init__(self, row: list[float]) -> None:
        super().__init__()
        self.row = nn.Parameter(torch.tensor(row))

    def forward(self, x: Tensor) -> Tensor:
        return self.row.expand(x.shape[0], -1)


G = nn.Identity()
# 1-D points: D(x) = x, so the logits are the points themselves.
D1 = linear_critic([1.0])
REAL = torch.tensor([[0.0], [LN3]])  # logits 0, ln 3 -> sigmoid 0.5, 0.75
Z = torch.tensor([[-LN3], [0.0]])  # fakes = z -> logits -ln 3, 0 -> sigmoid 0.25, 0.5
BCE_REAL = (-math.log(0.5) - math.log(0.75)) / 2
BCE_FAKE = (-math.log(0.75) - math.log(0.5)) / 2


def values(logs: dict[str, Tensor]) -> dict[str, float]:
    return {k: v.item() for k, v in logs.items()}


def test_mm_gan() -> None:
    loss, logs = MMGAN().d_loss(G, D1, REAL, Z)
    assert loss.item() == approx(BCE_REAL + BCE_FAKE)
    assert values(logs) == {"d_loss": approx(BCE_REAL + BCE_FAKE), "d_real": approx(BCE_REAL),
                            "d_fake": approx(BCE_FAKE)}
    loss, logs = MMGAN().g_loss(G, D1, REAL, Z)
    assert loss.item() == approx((math.log(1 - 0.25) + math.log(1 - 0.5)) / 2)
    assert values(logs) == {"g_loss": approx(loss.item())}


def test_ns_gan() -> None:
    loss, _ = NSGAN().d_loss(G, D1, REAL, Z)
    assert loss.item() == approx(BCE_REAL + BCE_FAKE)
    loss, _ = NSGAN().g_loss(G, D1, REAL, Z)
    assert loss.item() == approx((-math.log(0.25) - math.log(0.5)) / 2)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_d_batch_decides_which_batch_statistics_batch_norm_in_d_sees() -> None:
    # D(x) = (x - batch mean) / batch std. Separate: real [0, ln 3] and fake [-ln 3, 0] both
    # standardise to [-1, 1], so D cannot tell them apart. Joint: the batch [0, ln 3, -ln 3, 0]
    # has mean 0 and std ln 3 / sqrt 2, so real -> [0, sqrt 2] and fake -> [-sqrt 2, 0].
    D = nn.Sequential(nn.BatchNorm1d(1, eps=1e-12, affine=False), nn.Flatten(0))
    r2 = math.sqrt(2)
    _, logs = NSGAN().d_loss(G, D, REAL, Z)
    same = (softplus(1) + softplus(-1)) / 2
    assert values(logs) == {"d_loss": approx(2 * same), "d_real": approx(same),
                            "d_fake": approx(same)}
    joint = GAN(losses.bce_real_fake, losses.ns_generator, d_batch="joint")
    _, logs = joint.d_loss(G, D, REAL, Z)
    d_real, d_fake = (softplus(0) + softplus(-r2)) / 2, (softplus(-r2) + softplus(0)) / 2
    assert values(logs) == {"d_loss": approx(d_real + d_fake), "d_real": approx(d_real),
                            "d_fake": approx(d_fake)}
    # G's step also normalises its fakes together with the real batch
    loss, _ = joint.g_loss(G, D, REAL, Z)
    assert loss.item() == approx((softplus(r2) + softplus(0)) / 2)
    loss, _ = NSGAN().g_loss(G, D, REAL, Z)
    assert loss.item() == approx(same)


def test_d_batch_joint_equals_separate_without_batch_statistics() -> None:
    for objective in (MMGAN(), LSGAN(), WGAN()):
        joint = GAN(objective.d_terms, objective.g_term, d_batch="joint")
        assert values(joint.d_loss(G, D1, REAL, Z)[1]) == {
            k: approx(v) for k, v in values(objective.d_loss(G, D1, REAL, Z)[1]).items()}
        assert joint.g_loss(G, D1, REAL, Z)[0].item() == approx(
            objective.g_loss(G, D1, REAL, Z)[0].item())


def test_unknown_d_batch_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="d_batch='both' is not known; valid: separate, joint"):
        GAN(losses.bce_real_fake, losses.ns_generator, d_batch="both")


def test_lsgan_squares_the_sigmoid() -> None:
    loss, logs = LSGAN().d_loss(G, D1, REAL, Z)
    real = 0.5 * ((0.5 - 1) ** 2 + (0.75 - 1) ** 2) / 2
    fake = 0.5 * (0.25**2 + 0.5**2) / 2
    assert loss.item() == approx(real + fake)
    assert values(logs)["d_real"] == approx(real)
    loss, _ = LSGAN().g_loss(G, D1, REAL, Z)
    assert loss.item() == approx(0.5 * ((0.25 - 1) ** 2 + (0.5 - 1) ** 2) / 2)


def test_wgan_losses() -> None:
    real, z = torch.tensor([[1.0], [3.0]]), torch.tensor([[-2.0], [0.0]])
    loss, logs = WGAN().d_loss(G, D1, real, z)
    assert loss.item() == approx(-1.0 - 2.0)  # E f(G(z)) - E f(x)
    assert "gp" not in logs
    loss, _ = WGAN().g_loss(G, D1, real, z)
    assert loss.item() == approx(1.0)


def test_wgan_clips_every_critic_parameter() -> None:
    D = InfoGAN(width=0.25).critic((1, 8, 8), norm="batch")
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(100).add_(0.5)  # BN scales become 100.5: far outside the box
    WGAN(clip=0.01).after_d_step(D)
    params = list(D.parameters())
    assert all(p.abs().max() <= 0.01 for p in params)
    assert all((p.abs() == 0.01).any() for p in params)  # each was clamped at the edge
    bn = [m for m in D.modules() if isinstance(m, nn.BatchNorm2d)][0]
    assert torch.all(bn.running_var == 1)  # buffers are not parameters: untouched


def test_wgan_gp_with_a_linear_critic() -> None:
    # f(x) = 3 x0 + 4 x1: gradient norm 5 at every interpolate, whatever alpha is drawn.
    D = linear_critic([3.0, 4.0])
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # f: 3, 4
    z = torch.tensor([[-1.0, 0.0], [0.0, 0.0]])  # f: -3, 0
    gp = (math.sqrt(1e-4 + 25) - 1) ** 2
    loss, logs = WGANGP(penalty=10.0).d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(-1.5 - 3.5 + 10 * gp), "d_real": approx(-3.5),
                            "d_fake": approx(-1.5), "gp": approx(gp)}
    loss, _ = WGANGP().g_loss(G, D, real, z)
    assert loss.item() == approx(1.5)


def test_wgan_gp_does_not_clip() -> None:
    D = linear_critic([3.0, 4.0])
    WGANGP().after_d_step(D)
    assert D[0].weight.tolist() == [[3.0, 4.0]]


def test_dragan_penalises_the_sigmoid_gradient_around_the_data() -> None:
    w = [0.5, -1.0]
    D = linear_critic(w, b=0.25)
    real = torch.tensor([[0.0, 1.0], [2.0, -1.0], [1.0, 1.0]])
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    # Replay the random draws in the objective's order: perturbation noise, then alpha.
    torch.manual_seed(7)
    noise = torch.rand(3, 2).tolist()
    alpha = torch.rand(3).tolist()
    flat = [v for row in real.tolist() for v in row]
    mean = sum(flat) / len(flat)
    std = math.sqrt(sum((v - mean) ** 2 for v in flat) / len(flat))  # population std
    sq_norm_w = sum(wi * wi for wi in w)

    def logit(x: list[float]) -> float:
        return sum(wi * xi for wi, xi in zip(w, x, strict=True)) + 0.25

    penalties = []
    for x, u, a in zip(real.tolist(), noise, alpha, strict=True):
        x_hat = [xi + a * (0.5 * std * ui) for xi, ui in zip(x, u, strict=True)]
        s = 1 / (1 + math.exp(-logit(x_hat)))
        # grad of sigmoid(w.x + b) = s (1 - s) w
        penalties.append((math.sqrt(1e-4 + (s * (1 - s)) ** 2 * sq_norm_w) - 1) ** 2)
    gp = sum(penalties) / 3
    # -log sigma(l) = log(1 + e^-l) on real, -log(1 - sigma(l)) = log(1 + e^l) on fake.
    bce = (sum(math.log1p(math.exp(-logit(x))) for x in real.tolist())
           + sum(math.log1p(math.exp(logit(x))) for x in z.tolist())) / 3
    torch.manual_seed(7)
    loss, logs = DRAGAN(penalty=10.0).d_loss(G, D, real, z)
    assert values(logs)["gp"] == pytest.approx(gp, rel=1e-5)
    assert loss.item() == pytest.approx(bce + 10 * gp, rel=1e-5)
    loss, _ = DRAGAN().g_loss(G, D, real, z)
    assert loss.item() == approx(NSGAN().g_loss(G, D, real, z)[0].item())


def test_began_losses_and_k_update() -> None:
    D = Scale(0.5)  # L(v) = mean |v - 0.5 v| = 0.5 mean |v|
    real = torch.tensor([[1.0, -3.0], [2.0, 0.0]])  # mean |x| = 1.5 -> L(x) = 0.75
    z = torch.ones(2, 2)  # L(G(z)) = 0.5
    began = BEGAN(gamma=0.75, lambda_k=1e-3)
    loss, logs = began.d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(0.75), "d_real": approx(0.75),
                            "d_fake": approx(0.5), "k": 0.0,
                            "M": approx(0.75 + abs(0.75 * 0.75 - 0.5))}
    loss, logs = began.g_loss(G, D, real, z)
    assert loss.item() == approx(0.5)
    began.after_d_step(D)
    k = 1e-3 * (0.75 * 0.75 - 0.5)  # 6.25e-5
    assert float(began.k) == approx(k)
    loss, logs = began.d_loss(G, D, real, z)
    assert loss.item() == approx(0.75 - k * 0.5)
    assert logs["k"].item() == approx(k)
    assert began.state_dict() == {"k": approx(k)}


def test_began_k_is_clipped_at_both_ends() -> None:
    D = Scale(0.5)
    real = torch.tensor([[1.0, -3.0], [2.0, 0.0]])  # L(x) = 0.75
    began = BEGAN(gamma=0.75, lambda_k=100.0, k_clip=True)  # the paper's form
    began.d_loss(G, D, real, torch.ones(2, 2))  # gamma L(x) - L(G(z)) = +0.0625
    began.after_d_step(D)
    assert float(began.k) == 1.0
    began.d_loss(G, D, real, torch.full((2, 2), 4.0))  # L(G(z)) = 2: -1.4375
    began.after_d_step(D)
    assert float(began.k) == 0.0


def test_began_k_waits_for_a_d_step_and_round_trips() -> None:
    began = BEGAN()
    began.after_d_step(Scale(0.5))
    assert float(began.k) == 0.0
    began.load_state_dict({"k": 0.25})
    assert began.state_dict() == {"k": 0.25}
    loss, _ = began.d_loss(G, Scale(0.5), torch.ones(1, 2), torch.ones(1, 2))
    assert loss.item() == approx(0.5 - 0.25 * 0.5)


def test_vae_bernoulli_by_hand() -> None:
    # Encoder: mu = [0.5, -1], raw = [0, 0] -> sigma = 1e-6 + ln 2 for every sample.
    enc = Fixed([0.5, -1.0, 0.0, 0.0])
    dec = Fixed([0.25] * 4)  # p = 0.25 on each of 4 pixels, whatever z is
    decoder = nn.Sequential(dec, nn.Unflatten(1, (1, 2, 2)))
    real = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    sigma = 1e-6 + math.log(2)
    kl = 0.5 * sum(m * m + sigma**2 - math.log(1e-8 + sigma**2) - 1 for m in (0.5, -1.0))
    nll = (-(2 * math.log(0.25) + 2 * math.log(0.75)) - 4 * math.log(0.75)) / 2
    vae = VAE()
    vae.build_discriminator(InfoGAN(width=0.1), (1, 4, 4), 2, norm="none")
    assert vae.likelihood == "bernoulli"
    loss, logs = vae.g_loss(decoder, enc, real, torch.zeros(2, 2))
    assert values(logs) == {"g_loss": approx(nll + kl), "nll": approx(nll), "kl": approx(kl)}


def test_vae_gaussian_reparameterisation_by_hand() -> None:
    enc = Fixed([1.0, -2.0, 0.5, -0.5])  # mu, raw
    real = torch.tensor([[1.0, 1.0], [0.0, -2.0]])
    mu = [1.0, -2.0]
    sigma = [1e-6 + math.log1p(math.exp(r)) for r in (0.5, -0.5)]
    torch.manual_seed(11)
    eps = torch.randn(2, 2).tolist()
    # Decoder = identity: x^ = z = mu + sigma * eps; nll = 0.5 sum (x - x^)^2, mean over batch.
    nll = 0.0
    for x, e in zip(real.tolist(), eps, strict=True):
        nll += 0.5 * sum((xi - (m + s * ei)) ** 2
                         for xi, m, s, ei in zip(x, mu, sigma, e, strict=True))
    nll /= 2
    kl = 0.5 * sum(m * m + s * s - math.log(1e-8 + s * s) - 1 for m, s in zip(mu, sigma,
                                                                              strict=True))
    vae = VAE(likelihood="auto")
    vae.build_discriminator(_PointArch(), (2,), 2, norm="none")
    assert vae.likelihood == "gaussian"
    torch.manual_seed(11)
    loss, logs = vae.g_loss(nn.Identity(), enc, real, torch.zeros(2, 2))
    assert logs["nll"].item() == pytest.approx(nll, rel=1e-6)
    assert logs["kl"].item() == pytest.approx(kl, rel=1e-6)
    loss.backward()
    assert enc.row.grad is not None and torch.all(enc.row.grad != 0)


class _PointArch:
    """Records which factory method an objective asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def critic(self, shape: tuple, norm: str) -> nn.Module:
        self.calls.append(("critic", shape, norm))
        return nn.Sequential(nn.Linear(shape[0], 1), nn.Flatten(0))

    def autoencoder(self, shape: tuple, norm: str) -> nn.Module:
        self.calls.append(("autoencoder", shape, norm))
        return nn.Identity()

    def encoder(self, shape: tuple, z_dim: int, norm: str) -> nn.Module:
        self.calls.append(("encoder", shape, z_dim, norm))
        return nn.Identity()


@pytest.mark.parametrize(
    ("objective", "call"),
    [(NSGAN(), ("critic", (2,), "batch")), (WGANGP(), ("critic", (2,), "batch")),
     (BEGAN(), ("autoencoder", (2,), "batch")), (VAE(), ("encoder", (2,), 5, "batch"))],
)
def test_build_discriminator_uses_the_declared_kind(objective: Objective, call: tuple) -> None:
    arch = _PointArch()
    objective.build_discriminator(arch, [2], 5, "batch")  # a list shape, as from a config
    assert arch.calls == [call]


def test_spectral_norm_is_wrapped_around_what_the_architecture_builds() -> None:
    from torch.nn.utils import parametrize

    arch = _PointArch()
    D = NSGAN().build_discriminator(arch, [2], 5, "spectral")
    assert arch.calls == [("critic", (2,), "none")]  # the architecture builds no norm itself
    assert parametrize.is_parametrized(D[0], "weight")
    with pytest.raises(ValueError, match=r"norm='group' is not known; valid: \('none', 'batch', "
                                         r"'layer', 'spectral'\)"):
        NSGAN().build_discriminator(arch, [2], 5, "group")


def test_vae_options_and_no_discriminator_step() -> None:
    with pytest.raises(ValueError, match=r"valid: \('auto', 'bernoulli', 'gaussian'\)"):
        VAE(likelihood="poisson")
    assert VAE(likelihood="gaussian")._resolve(3) == "gaussian"
    assert not VAE.trains_discriminator and NSGAN.trains_discriminator
    with pytest.raises(RuntimeError, match="no discriminator step"):
        VAE().d_loss(G, D1, REAL, Z)
    enc, dec = nn.Linear(2, 4), nn.Linear(2, 2)
    params = list(VAE().generator_parameters(dec, enc))
    assert len(params) == 4 and params[0] is dec.weight and params[2] is enc.weight


def test_default_hooks_and_state() -> None:
    obj = NSGAN()
    assert list(obj.generator_parameters(D1, G)) == list(D1.parameters())
    assert obj.state_dict() == {}
    obj.load_state_dict({})
    with pytest.raises(ValueError, match="no state"):
        obj.load_state_dict({"k": 1.0})


@pytest.mark.parametrize("bad", [lambda: WGAN(clip=0), lambda: WGANGP(penalty=-1),
                                 lambda: DRAGAN(penalty=-1), lambda: BEGAN(gamma=1.5),
                                 lambda: BEGAN(lambda_k=-1)])
def test_rejects_bad_hyperparameters(bad: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        bad()
