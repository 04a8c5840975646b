"""2. Inception features against torch-fidelity's `FeatureExtractorInceptionV3`, same weights.

Target: >= 1.8x faster, max per-image relative error < 1e-4. `run_compiled` (2b) times ours
under torch.compile; `python -m perf` runs it after every other case.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from benchmark.data.base import to_model_space
from benchmark.metrics.inception import InceptionFeatures, calibrated_random_weights
from perf.measure import Row, interleave, timed


def images(n: int, seed: int = 1) -> torch.Tensor:
    """n uint8 (3, 32, 32) images: half pixel noise, half coarse 4x4 blocks (as the tests)."""
    g = torch.Generator().manual_seed(seed)
    k = n // 2
    noise = torch.randint(0, 256, (n - k, 3, 32, 32), generator=g, dtype=torch.uint8)
    blocks = torch.randint(0, 256, (k, 3, 8, 8), generator=g, dtype=torch.uint8)
    return torch.cat([noise, blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)])


def torch_fidelity_extractor(weights: str | Path) -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 ('2048'), as it builds it itself."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                      feature_extractor_weights_path=str(weights))
    return net.eval().requires_grad_(False)


def torch_fidelity_features(net: torch.nn.Module, x: torch.Tensor, batch: int) -> torch.Tensor:
    # As torch-fidelity's own loop: uint8 batches under no_grad.
    with torch.no_grad():
        return torch.cat([net(chunk)[0] for chunk in x.split(batch)])


def feature_error(ours: torch.Tensor, peer: torch.Tensor) -> float:
    """Largest per-image relative error ||f_ours - f_peer|| / ||f_peer||."""
    a, b = ours.double(), peer.double()
    return float(((a - b).norm(dim=1) / b.norm(dim=1)).max())


class _Sides:
    """Both extractors on the same images and weights; each call keeps its features."""

    def __init__(self, quick: bool, workdir: Path) -> None:
        weights = workdir / "inception-random.pth"
        if not weights.exists():
            calibrated_random_weights(weights, seed=0)
        self.n, self.batch, self.repeats = (10, 10, 6) if quick else (50, 50, 5)
        self.images = images(self.n)
        self.x = to_model_space(self.images)
        self.ours_net = InceptionFeatures(weights=weights, batch_size=self.batch)
        self.peer_net = torch_fidelity_extractor(weights)
        self.feats: dict[str, torch.Tensor] = {}

    def ours(self) -> None:
        self.feats["ours"] = self.ours_net(self.x)

    def peer(self) -> None:
        self.feats["peer"] = torch_fidelity_features(self.peer_net, self.images, self.batch)


def run(quick: bool, workdir: Path) -> list[Row]:
    s = _Sides(quick, workdir)
    walls = interleave({"ours": s.ours, "peer": s.peer}, s.repeats)
    t_ours, t_peer = min(walls["ours"]), min(walls["peer"])
    err = feature_error(s.feats["ours"], s.feats["peer"])
    ratio = t_peer / t_ours
    scale = float(s.feats["peer"].std(0).mean())
    return [Row(f"2. Inception features, {s.n} images 32x32 (torch-fidelity)",
                f"{s.n / t_ours:.1f} img/s", f"{s.n / t_peer:.1f} img/s", f"{ratio:.2f}x",
                ">= 1.8x, max rel err < 1e-4",
                f"max per-image rel err {err:.1e} (feature std {scale:.2g}; same weights)",
                holds=ratio >= 1.8 and err < 1e-4, correct=err < 1e-4,
                numbers={"t_ours": walls["ours"], "t_peer": walls["peer"], "n": s.n, "err": err})]


def run_compiled(quick: bool, workdir: Path) -> list[Row]:
    """Ours under torch.compile. Last of all: a compiled graph and inductor's worker processes
    stay in the process and must not weigh on the other cases' timings."""
    s = _Sides(quick, workdir)
    try:
        import torch._inductor.config as inductor_config

        compiled, eager = torch.compile(s.ours_net.net), s.ours_net.net

        def ours_compiled() -> None:
            s.ours_net.net = compiled
            try:
                s.feats["compiled"] = s.ours_net(s.x)
            finally:
                s.ours_net.net = eager

        # freezing: inference-only compilation (weights become constants: conv-BN folding and
        # prepacked oneDNN weights on CPU); read when the first call compiles
        with inductor_config.patch(freezing=True):
            t_compile = timed(ours_compiled)[0]
        sides: dict[str, Callable[[], None]] = {"compiled": ours_compiled, "ours": s.ours,
                                                "peer": s.peer}
        walls = interleave(sides, s.repeats)
        t_c, t_e, t_p = (min(walls[k]) for k in ("compiled", "ours", "peer"))
        err = feature_error(s.feats["compiled"], s.feats["peer"])
        return [Row("2b. Inception, ours + torch.compile (inductor, freezing)",
                    f"{s.n / t_c:.1f} img/s", f"{s.n / t_p:.1f} img/s", f"{t_p / t_c:.2f}x",
                    "report only", f"vs ours eager {t_e / t_c:.2f}x; compile + first call "
                    f"{t_compile:.0f} s; max rel err vs torch-fidelity {err:.1e}",
                    correct=err < 1e-4,
                    numbers={"t_compiled": walls["compiled"], "t_ours": walls["ours"],
                             "t_peer": walls["peer"], "t_first_call": t_compile, "err": err})]
    except Exception as e:  # compilers missing, unsupported ops: report, do not fail the table
        first = str(e).splitlines()[0][:120] if str(e) else ""
        return [Row("2b. Inception + torch.compile", "failed", "", "", "report only",
                    f"{type(e).__name__}: {first}")]
