"""The energy, IPM and MMD objectives (EBGAN, MAGAN, Fisher GAN, McGAN, Cramér GAN, MMD GAN,
GMMN): every loss formula against numbers worked out by hand, the objectives' losses and state
with stand-in networks, one training step on both architectures from the real configs, and
short end-to-end runs through the training loop."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

from benchmark.config_dir import compose
from benchmark.nets import MLP, InfoGAN
from benchmark.objectives import family_losses as fl
from benchmark.objectives.energy import EBGAN, MAGAN, code_layer
from benchmark.objectives.ipm import CramerGAN, FisherGAN, McGAN
from benchmark.objectives.mmd import GMMN, MMDGAN
from benchmark.train import run

CONF = Path(__file__).resolve().parents[2] / "conf"
FAMILIES = ["ebgan", "magan", "fisher_gan", "mmd_gan", "gmmn", "cramer_gan", "mcgan"]
G = nn.Identity()  # stand-in generator: the fakes are z


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # Tiny nets on a shared CPU: one intra-op thread avoids OpenMP oversubscription stalls.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-6, abs=1e-7)


def t(rows: list) -> Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def values(logs: dict[str, Tensor]) -> dict[str, float]:
    return {k: v.item() for k, v in logs.items()}


def linear(weight: list[list[float]]) -> nn.Linear:
    """A bias-free Linear with the given (out, in) weight."""
    lin = nn.Linear(len(weight[0]), len(weight), bias=False)
    with torch.no_grad():
        lin.weight.copy_(t(weight))
    return lin


class Scale(nn.Module):
    """A stand-in auto-encoder D(v) = c * v: energy = (c - 1)^2 mean(v^2)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, v: Tensor) -> Tensor:
        return self.c * v


# --- the pure functions -------------------------------------------------------------------

def test_reconstruction_energy_is_the_per_sample_mse() -> None:
    e = fl.reconstruction_energy(t([[1, 2], [0, 0]]), t([[1, 0], [1, 1]]))
    assert e.tolist() == [2.0, 1.0]  # (0 + 4) / 2, (1 + 1) / 2
    images = fl.reconstruction_energy(torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2))
    assert images.tolist() == [1.0, 1.0]


def test_energy_losses_hinge_per_sample() -> None:
    real, fake = fl.energy_d(t([2, 1]), t([0.5, 3]), 1.0)
    assert real.item() == approx(1.5)
    assert fake.item() == approx((0.5 + 0.0) / 2)  # max(0, 1 - 0.5), max(0, 1 - 3)
    assert fl.energy_g(t([0.5, 3])).item() == approx(1.75)


def test_pulling_away_term() -> None:
    # cosines: (e1, e2) 0, (e1, e1+e2) 1/sqrt2, (e2, e1+e2) 1/sqrt2 -> squares 0, 1/2, 1/2,
    # each pair counted twice over i != j: 2 / (3 * 2).
    assert fl.pulling_away(t([[1, 0], [0, 1], [1, 1]])).item() == approx(1 / 3)
    assert fl.pulling_away(t([[2, 0], [5, 0]])).item() == approx(1.0)
    assert fl.pulling_away(t([[0, 0], [1, 0]])).item() == 0.0  # a zero code: cosine 0, no NaN
    with pytest.raises(ValueError, match="at least 2"):
        fl.pulling_away(t([[1, 0]]))


@pytest.mark.parametrize(("real_sum", "fake_sum", "prev_fake_sum", "expected"), [
    (1.6, 3.0, 2.0, 0.8),           # E_real 0.8 < m, S_real < S_fake, S_fake did not fall
    (1.6, 3.0, 3.0, 0.8),           # ... "did not fall" includes equal
    (1.6, 3.0, 4.0, 1.0),           # S_fake fell: G still improving, keep m
    (1.6, 1.0, 0.5, 1.0),           # S_real > S_fake
    (2.4, 3.0, 2.0, 1.0),           # E_real 1.2 > m: never raise the margin
    (1.6, 3.0, math.inf, 1.0),      # first epoch: no previous S_fake
])
def test_magan_margin_rule(real_sum: float, fake_sum: float, prev_fake_sum: float,
                           expected: float) -> None:
    m = fl.magan_margin(torch.tensor(1.0), torch.tensor(real_sum), torch.tensor(fake_sum),
                        torch.tensor(prev_fake_sum), 2)
    assert m.item() == approx(expected)


def test_fisher_terms_lagrangian_and_multiplier() -> None:
    ipm, omega = fl.fisher_terms(t([1, 3]), t([0, 2]))
    assert ipm.item() == approx(2 - 1)
    assert omega.item() == approx(0.5 * ((1 + 9) / 2 + (0 + 4) / 2))  # 3.5
    # 1 - Omega = -2.5: -(1 + 0.5 * -2.5 - 2/2 * 6.25) = 6.5
    assert fl.fisher_critic(ipm, omega, 0.5, 2.0).item() == approx(6.5)
    assert fl.fisher_lambda(0.5, omega, 2.0).item() == approx(0.5 - 2 * -2.5)
    assert fl.ipm_generator(t([0, 2])).item() == approx(-1.0)


def test_mean_feature_distance() -> None:
    # means [2, 1] and [1, -1]: difference [1, 2]
    real, fake = t([[1, 0], [3, 2]]), t([[0, 0], [2, -2]])
    assert fl.mean_feature_distance(real, fake).item() == approx(math.sqrt(5))
    assert fl.mean_feature_distance(real, fake, q=1).item() == approx(3.0)


def test_covariance_feature_distance() -> None:
    # Sigma(P) = I / 2, Sigma(Q) = diag(4, 0) / 2: difference diag(-1.5, 0.5)
    real, fake = t([[1, 0], [0, 1]]), t([[2, 0], [0, 0]])
    assert fl.covariance_feature_distance(real, fake, 1).item() == approx(1.5)
    assert fl.covariance_feature_distance(real, fake, 2).item() == approx(2.0)


def test_cramer_critic_and_losses() -> None:
    f = fl.cramer_critic(t([[3, 4], [3, 0]]), t([[0, 1], [0, 4]]))
    # ||(3, 3)|| - 5, ||(3, -4)|| - 3
    assert f.tolist() == [pytest.approx(3 * math.sqrt(2) - 5), pytest.approx(2.0)]
    real, fake = fl.cramer_d(t([1, 3]), t([0, 2]))
    assert (real.item(), fake.item()) == (approx(-2.0), approx(1.0))
    # rows: |0-2| + |0-5| - |2-5| = 4;  |1-1| + |1-0| - |1-0| = 0
    g = fl.cramer_generator(t([[0], [1]]), t([[2], [1]]), t([[5], [0]]))
    assert g.item() == approx(2.0)


def test_kernels() -> None:
    x, y = t([[0, 0], [1, 1]]), t([[1, 0]])
    assert fl.squared_distances(x, y).tolist() == [[1.0], [1.0]]
    a, b = t([[0, 0]]), t([[2, 0]])  # d^2 = 4
    assert fl.rbf_kernel(a, b, [1, 4]).item() == approx(math.exp(-2) + math.exp(-0.5))
    assert fl.rq_kernel(a, b, [1, 2]).item() == approx(1 / 3 + 1 / 4)  # (1+2)^-1 + (1+1)^-2
    assert fl.rq_kernel(a, a).item() == approx(len(fl.RQ_ALPHAS))  # k(x, x) = 1 per term
    assert fl.linear_kernel(t([[1, 2]]), t([[3, 4]])).item() == 11.0
    assert fl.rbf_kernel(torch.ones(2, 1, 2, 2), torch.zeros(1, 1, 2, 2), [2]).tolist() == [
        [pytest.approx(math.exp(-1))], [pytest.approx(math.exp(-1))]]  # images flattened


def test_mmd_estimators_and_witness() -> None:
    k_xx, k_yy = t([[1, 0.5], [0.5, 1]]), t([[1, 0.2], [0.2, 1]])
    k_xy = t([[0.1, 0.3], [0.2, 0.4]])  # mean 0.25
    assert fl.mmd2_unbiased(k_xx, k_xy, k_yy).item() == approx(0.5 + 0.2 - 2 * 0.25)
    assert fl.mmd2_biased(k_xx, k_xy, k_yy).item() == approx(3 / 4 + 2.4 / 4 - 2 * 0.25)
    assert fl.mmd_witness(t([[1, 0.5]]), t([[0.2, 0.2]])).item() == approx(0.55)


# --- the objectives, with stand-in networks -----------------------------------------------

REAL = t([[1, -3], [2, 0]])  # mean v^2: 5, 2 -> energies under Scale(0.5): 1.25, 0.5
Z = t([[1, 1], [2, 0]])  # mean v^2: 1, 2 -> energies 0.25, 0.5


def test_ebgan_losses() -> None:
    obj = EBGAN(margin=0.4)
    loss, logs = obj.d_loss(G, Scale(0.5), REAL, Z)
    hinge = (0.4 - 0.25 + 0.0) / 2
    assert values(logs) == {"d_loss": approx(0.875 + hinge), "d_real": approx(0.875),
                            "d_fake": approx(hinge), "energy_fake": approx(0.375)}
    loss, logs = obj.g_loss(G, Scale(0.5), REAL, Z)
    assert values(logs) == {"g_loss": approx(0.375)}


def test_ebgan_pulling_away_term_on_the_code_layer() -> None:
    # D = output(code(v)) with identity weights: energy 0; the codes are the fakes themselves.
    D = nn.Sequential(linear([[1, 0], [0, 1]]), nn.ReLU(), linear([[1, 0], [0, 1]]))
    loss, logs = EBGAN(margin=1.0, pt_weight=0.1).g_loss(G, D, REAL, t([[1, 0], [0, 1], [1, 1]]))
    assert values(logs) == {"g_loss": approx(0.1 / 3), "pt": approx(1 / 3)}
    assert not D[0]._forward_hooks  # the hook is gone after the loss


def test_code_layer_is_the_bottleneck_of_both_architectures() -> None:
    ae = InfoGAN(width=0.25).autoencoder((1, 16, 16), "none")
    assert code_layer(ae).out_features == 16  # BEGAN's 64-d code at width 0.25
    assert code_layer(MLP(hidden=32).autoencoder((2,), "batch")).out_features == 8  # hidden // 4


def test_magan_pretrains_then_adapts_the_margin() -> None:
    D, zs = Scale(0.5), t([[2, 2], [2, 2]])  # fake energies 1, 1: S_fake = 2 per step
    low = t([[1, 1], [1, 1]])  # real energies 0.25, 0.25: S_real = 0.5
    obj = MAGAN(epoch_steps=1, pretrain_epochs=1)
    # Pre-training: D is a plain auto-encoder on real data; G gets a loss with no parameters.
    loss, logs = obj.d_loss(G, D, REAL, zs)
    assert values(logs) == {"d_loss": approx(0.875), "d_real": approx(0.875)}
    gen = nn.Linear(2, 2)
    g_loss, _ = obj.g_loss(gen, D, REAL, zs)
    g_loss.backward()
    assert g_loss.item() == 0.0 and gen.weight.grad is None
    obj.after_d_step(D)
    assert float(obj.margin) == approx(0.875)  # the mean real energy of pre-training
    # Epoch 2: E_real 0.25 < m and S_real < S_fake, but no previous S_fake yet: m stays.
    loss, logs = obj.d_loss(G, D, low, zs)
    assert values(logs)["margin"] == approx(0.875)
    assert values(logs)["d_fake"] == approx(0.0)  # max(0, 0.875 - 1)
    obj.after_d_step(D)
    assert float(obj.margin) == approx(0.875)
    # Epoch 3: S_fake did not fall (2 >= 2): m <- E_real = 0.25.
    obj.d_loss(G, D, low, zs)
    obj.after_d_step(D)
    assert float(obj.margin) == approx(0.25)
    assert obj.g_loss(G, D, low, zs)[0].item() == approx(1.0)  # E[D(G(z))] after pre-training


def test_magan_state_round_trip_resumes_mid_epoch() -> None:
    D = Scale(0.5)
    batches = [(REAL, Z), (t([[1, 1], [1, 1]]), t([[2, 2], [2, 2]]))] * 4

    def steps(obj: MAGAN, todo: list) -> None:
        for real, z in todo:
            obj.d_loss(G, D, real, z)
            obj.after_d_step(D)

    straight = MAGAN(epoch_steps=2, pretrain_epochs=1)
    steps(straight, batches)
    first = MAGAN(epoch_steps=2, pretrain_epochs=1)
    steps(first, batches[:5])  # stops one step into an epoch
    state = first.state_dict()
    assert set(state) == {"margin", "d_steps", "real_sum", "fake_sum", "count", "prev_fake_sum"}
    assert state["d_steps"] == 5 and state["count"] == 2 and isinstance(state["margin"], float)
    resumed = MAGAN(epoch_steps=2, pretrain_epochs=1)
    resumed.load_state_dict(state)
    steps(resumed, batches[5:])
    assert resumed.state_dict() == straight.state_dict()
    assert MAGAN().state_dict()["margin"] is None  # nothing to adapt before the first step


def test_magan_without_pretraining_starts_from_the_first_batch() -> None:
    obj = MAGAN(epoch_steps=10, pretrain_epochs=0)
    _, logs = obj.d_loss(G, Scale(0.5), REAL, Z)
    assert values(logs)["margin"] == approx(0.875)


def test_fisher_gan_losses_lambda_and_its_state() -> None:
    D = nn.Sequential(linear([[1.0]]), nn.Flatten(0))  # f(x) = x
    real, z = t([[1], [3]]), t([[0], [2]])  # E^ = 1, 1 - Omega^ = -2.5
    obj = FisherGAN(rho=2.0)
    loss, logs = obj.d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(-(1 - 6.25)), "d_real": approx(2.0),
                            "d_fake": approx(1.0), "ipm": approx(1.0), "constraint": approx(-2.5),
                            "lambda": 0.0}
    obj.after_d_step(D)
    assert float(obj.lam) == approx(5.0)  # 0 - 2 * -2.5
    assert obj.state_dict() == {"lambda": approx(5.0)}
    assert obj.d_loss(G, D, real, z)[0].item() == approx(-(1 + 5 * -2.5 - 6.25))
    resumed = FisherGAN(rho=2.0)
    resumed.load_state_dict(obj.state_dict())
    assert resumed.d_loss(G, D, real, z)[0].item() == approx(17.75)
    assert obj.g_loss(G, D, real, z)[0].item() == approx(-1.0)


def test_mcgan_mean_and_covariance_matching_and_clipping() -> None:
    D = nn.Identity()  # phi(x) = x
    real, z = t([[1, 0], [3, 2]]), t([[0, 0], [2, -2]])
    loss, logs = McGAN(embed_dim=2, cov_rank=1).d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(-math.sqrt(5)), "mean_dist": approx(math.sqrt(5))}
    assert McGAN(embed_dim=2, cov_rank=1).g_loss(G, D, real, z)[0].item() == approx(math.sqrt(5))
    real, z = t([[1, 0], [0, 1]]), t([[2, 0], [0, 0]])  # mean diff [-0.5, 0.5], cov sv 1.5, 0.5
    both = McGAN(matching="mean_covariance", embed_dim=2, cov_rank=2)
    _, logs = both.d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(-(math.sqrt(0.5) + 2.0)),
                            "mean_dist": approx(math.sqrt(0.5)), "cov_dist": approx(2.0)}
    critic = nn.Sequential(linear([[0.5, -0.003]]), nn.BatchNorm1d(1))
    McGAN(clip=0.01).after_d_step(critic)
    assert critic[0].weight.tolist() == [[pytest.approx(0.01), pytest.approx(-0.003)]]
    assert critic[1].weight.item() == pytest.approx(0.01)  # BN scale: a parameter, clipped too


def test_cramer_gan_losses(monkeypatch: pytest.MonkeyPatch) -> None:
    # h(x) = x w, w = (3, 4), on 1-D data; x'_g = 10 fixed: f(x) = 5|x - 10| - 5|x| = 50 - 10x
    # below 10, so grad f = -10 at every interpolate and the penalty is (10 - 1)^2.
    D = linear([[3], [4]])
    obj = CramerGAN(penalty=10.0, embed_dim=2)
    monkeypatch.setattr(obj, "second_z", lambda z: torch.full_like(z, 10.0))
    real, z = t([[1], [2]]), t([[3], [4]])
    loss, logs = obj.d_loss(G, D, real, z)
    assert values(logs) == {"d_loss": approx(-35 + 15 + 10 * 81), "d_real": approx(-35.0),
                            "d_fake": approx(15.0), "gp": approx(81.0)}
    # 5 * (mean|x_r - x_g| + mean|x_r - x'_g| - mean|x_g - x'_g|) = 5 * (2 + 8.5 - 6.5)
    assert obj.g_loss(G, D, real, z)[0].item() == approx(20.0)


def test_cramer_gan_second_batch_is_fresh_and_from_the_latent() -> None:
    z = torch.rand(64, 3) * 2 - 1
    z2 = CramerGAN(embed_dim=2, latent="uniform").second_z(z)
    assert z2.shape == z.shape and not torch.equal(z, z2) and z2.abs().max() <= 1
    assert CramerGAN(embed_dim=2, latent="normal").second_z(z).abs().max() > 1  # N(0, 1) tails


def test_mmd_gan_losses_with_a_witness_penalty() -> None:
    # h(x) = x on 1-D data, one RQ kernel with alpha 1: k(a, b) = 1 / (1 + (a - b)^2 / 2).
    def k(a: float, b: float) -> float:
        return 1 / (1 + (a - b) ** 2 / 2)

    def dk(v: float, b: float) -> float:  # d/dv k(v, b)
        return -(v - b) / (1 + (v - b) ** 2 / 2) ** 2

    real, fake = [0.0, 2.0], [1.0, 3.0]
    mmd2 = k(0, 2) + k(1, 3) - 2 * sum(k(x, y) for x in real for y in fake) / 4  # = -14/33
    torch.manual_seed(3)
    alpha = torch.rand(2).tolist()
    gp = 0.0
    for x, y, a in zip(real, fake, alpha, strict=True):
        v = x + a * (y - x)
        slope = sum(dk(v, r) for r in real) / 2 - sum(dk(v, f) for f in fake) / 2
        gp += (abs(slope) - 1) ** 2 / 2
    obj = MMDGAN(alphas=[1.0], penalty=2.0, embed_dim=2)
    torch.manual_seed(3)
    loss, logs = obj.d_loss(G, nn.Identity(), t([real]).T, t([fake]).T)
    assert mmd2 == pytest.approx(-14 / 33)
    assert values(logs) == {"d_loss": pytest.approx(-mmd2 + 2 * gp, rel=1e-5),
                            "mmd2": pytest.approx(mmd2, rel=1e-6), "gp": pytest.approx(gp, rel=1e-5)}
    assert obj.g_loss(G, nn.Identity(), t([real]).T, t([fake]).T)[0].item() == approx(mmd2)


def test_mmd_gan_rbf_and_linear_kernels() -> None:
    a, b = t([[0, 0]]), t([[2, 0]])
    rbf = MMDGAN(kernel="rbf", variances=[4.0], linear_weight=0.5, embed_dim=2)
    assert rbf.kernel(a, b).item() == approx(math.exp(-0.5) + 0.0)
    assert rbf.kernel(b, b).item() == approx(1 + 0.5 * 4)


def test_gmmn_is_a_biased_sqrt_mmd_on_the_data() -> None:
    # variance 2: k = exp(-d^2 / 4); real {0, 2}, fake {1, 3}
    real, z = t([[0], [2]]), t([[1], [3]])
    cross = (3 * math.exp(-0.25) + math.exp(-2.25)) / 4
    mmd2 = 2 * (2 + 2 * math.exp(-1)) / 4 - 2 * cross
    loss, logs = GMMN(variances=[2.0]).g_loss(G, nn.Identity(), real, z)
    assert values(logs) == {"g_loss": approx(math.sqrt(mmd2)), "mmd2": approx(mmd2)}
    assert GMMN(variances=[2.0], sqrt=False).g_loss(G, nn.Identity(), real, z)[0].item() == approx(
        mmd2)
    assert list(GMMN().build_discriminator(MLP(), (2,), 8, "none").parameters()) == []
    with pytest.raises(RuntimeError, match="no discriminator step"):
        GMMN().d_loss(G, nn.Identity(), real, z)


def test_embedding_objectives_ask_the_encoder_for_embed_dim_outputs() -> None:
    x = torch.rand(3, 2)
    assert MMDGAN(embed_dim=6).build_discriminator(MLP(hidden=8), (2,), 64, "none")(x).shape == (3, 6)
    D = CramerGAN(embed_dim=10).build_discriminator(InfoGAN(width=0.125), (1, 8, 8), 64, "batch")
    assert D(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    with pytest.raises(ValueError, match="even"):
        McGAN(embed_dim=5)


@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (EBGAN, {"margin": 0.0}, "margin"), (EBGAN, {"pt_weight": -1.0}, "pt_weight"),
    (MAGAN, {"epoch_steps": 0}, "epoch_steps"), (FisherGAN, {"rho": -1.0}, "rho"),
    (McGAN, {"matching": "max"}, "matching"), (McGAN, {"cov_rank": 100}, "cov_rank"),
    (McGAN, {"clip": 0.0}, "clip"), (CramerGAN, {"latent": "cauchy"}, "latent"),
    (MMDGAN, {"kernel": "laplace"}, "kernel"), (MMDGAN, {"alphas": []}, "alphas"),
    (GMMN, {"variances": [1.0, -2.0]}, "variances"),
])
def test_bad_hyperparameters_are_refused(cls: type, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


# --- built from the real configs: one step, and the training loop -------------------------

ARCHS = {"infogan": ({"width": 0.25}, (1, 16, 16)), "mlp": ({"hidden": 32}, (2,))}
Z_DIM, BATCH = 8, 8


def _weights(net: nn.Module) -> dict[str, Tensor]:
    return {n: p.detach().clone() for n, p in net.named_parameters() if p.dim() >= 2}


def _unchanged(before: dict[str, Tensor], net: nn.Module) -> list[str]:
    params = dict(net.named_parameters())
    return [n for n, p in before.items() if torch.equal(p, params[n].detach())]


@pytest.mark.parametrize("arch_name", list(ARCHS))
@pytest.mark.parametrize("gan_name", FAMILIES)
def test_one_iteration(gan_name: str, arch_name: str) -> None:
    torch.manual_seed(0)
    gan = OmegaConf.load(CONF / "gan" / f"{gan_name}.yaml")
    if gan_name == "magan":
        gan.objective.pretrain_epochs = 0  # otherwise G waits for D's pre-training
    arch = instantiate(OmegaConf.merge(OmegaConf.load(CONF / "arch" / f"{arch_name}.yaml"),
                                       ARCHS[arch_name][0]))
    shape = ARCHS[arch_name][1]
    objective = instantiate(gan.objective)
    norm = compose([f"gan={gan_name}"]).norm.name  # the preset's D normalisation
    G_, D = arch.generator(Z_DIM, shape), objective.build_discriminator(arch, shape, Z_DIM, norm)
    betas = (gan.beta1, gan.beta2)
    opt_g = torch.optim.Adam(objective.generator_parameters(G_, D), lr=gan.lr, betas=betas)
    g_before, d_before = _weights(G_), _weights(D)
    real, z = torch.rand(BATCH, *shape), torch.rand(BATCH, Z_DIM) * 2 - 1
    if objective.trains_discriminator:
        opt_d = torch.optim.Adam(D.parameters(), lr=gan.lr, betas=betas)
        d_loss, d_logs = objective.d_loss(G_, D, real, z)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        assert all(p.grad is None for p in G_.parameters())  # no graph through G
        opt_d.step()
        objective.after_d_step(D)
        assert torch.isfinite(d_loss) and "d_loss" in d_logs
        assert all(v.dim() == 0 and not v.requires_grad for v in d_logs.values())
        assert _unchanged(d_before, D) == []
    else:
        assert d_before == {}  # GMMN: no discriminator at all
    g_loss, g_logs = objective.g_loss(G_, D, real, z)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    objective.after_g_step()
    assert torch.isfinite(g_loss)
    assert all(v.dim() == 0 and not v.requires_grad for v in g_logs.values())
    assert _unchanged(g_before, G_) == []


@pytest.mark.parametrize("gan_name", FAMILIES)
def test_config_has_the_loop_keys(gan_name: str) -> None:
    gan = OmegaConf.load(CONF / "gan" / f"{gan_name}.yaml")
    assert gan.name == gan_name
    for key, kind in [("lr", float), ("beta1", float), ("beta2", float), ("n_disc", int)]:
        assert isinstance(gan[key], kind), key
    assert compose([f"gan={gan_name}"]).norm.name in ("batch", "none")  # the preset names D's norm
    assert gan.latent == "uniform"
    assert type(instantiate(gan.objective)).__module__.startswith("benchmark.objectives.")


def test_cramer_config_draws_its_second_batch_like_the_loop(compose_cfg) -> None:
    cfg = compose_cfg("gan=cramer_gan", "gan.latent=normal")
    assert instantiate(cfg.gan.objective).latent == "normal"


@pytest.mark.parametrize("gan_name", FAMILIES)
def test_runs_end_to_end_on_ring8(compose_cfg, tmp_path: Path, gan_name: str) -> None:
    cfg = compose_cfg(f"gan={gan_name}", "dataset=ring8", "arch.hidden=32", "train.steps=50",
                      "eval.every=50")
    result = run(cfg, tmp_path)
    assert result["status"] == "completed", result
    assert result["steps_done"] == 50 and math.isfinite(result["final_fid"])


@pytest.mark.parametrize("gan_name", FAMILIES)
def test_runs_on_digits_with_the_study_nets(compose_cfg, tmp_path: Path, gan_name: str) -> None:
    # features.epochs=1: a quick classifier is enough to check the run goes through.
    cfg = compose_cfg(f"gan={gan_name}", "dataset=digits", "arch.width=0.25", "train.steps=3",
                      "eval.every=3", "eval.num_samples=32", "features.epochs=1")
    result = run(cfg, tmp_path)
    assert result["status"] == "completed", result
    assert result["protocol"]["extractor"] == "classifier"


@pytest.mark.parametrize(("gan_name", "cls", "overrides"), [
    ("magan", MAGAN, ["gan.objective.epoch_steps=7"]),  # resumes mid-epoch, after pre-training
    ("fisher_gan", FisherGAN, ["gan.objective.rho=0.1"]),  # lambda far from 0 by step 20
])
def test_state_survives_a_checkpoint_resume(compose_cfg, tmp_path: Path, monkeypatch,
                                            gan_name: str, cls: type, overrides: list) -> None:
    cfg = compose_cfg(f"gan={gan_name}", "dataset=ring8", "arch.hidden=32", "train.steps=30",
                      "eval.every=30", "train.checkpoint_every=20", *overrides)
    straight = run(cfg, tmp_path / "straight")
    g_loss, calls = cls.g_loss, {"n": 0}

    def fail_at_step_25(self, *args):
        calls["n"] += 1
        if calls["n"] == 25:
            raise RuntimeError("killed")
        return g_loss(self, *args)

    monkeypatch.setattr(cls, "g_loss", fail_at_step_25)
    with pytest.raises(RuntimeError, match="killed"):
        run(cfg, tmp_path / "resumed")  # leaves the step-20 checkpoint, objective state in it
    monkeypatch.setattr(cls, "g_loss", g_loss)
    resumed = run(cfg, tmp_path / "resumed")
    assert resumed["status"] == straight["status"] == "completed"
    assert resumed["final_fid"] == straight["final_fid"]
