"""Fully connected networks for point data of shape (D,) (the 2-D toy mixtures).

Not part of the study (which is images only); the same four factory methods as `InfoGAN`, so
every objective runs on points too. PyTorch's default init: there is no study init to match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from benchmark.nets.blocks import LRELU_SLOPE
from benchmark.nets.norms import check_arch_norm, norm_layer


def point_dim(shape: Sequence[int]) -> int:
    """D of a point shape (D,), or ValueError for anything else."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 1 or shape[0] < 1:
        what = "images" if len(shape) == 3 else "shape"
        hint = " — use arch=infogan" if len(shape) == 3 else ""
        raise ValueError(f"arch=mlp works on points (D,); got {what} {shape}{hint}")
    return shape[0]


class MLP:
    """Factory for MLPs with `depth` hidden layers of round(hidden * width) units on each path.

    `width` multiplies the layer size as InfoGAN's does, so one `arch.width=...` shrinks
    whichever architecture a dataset picks (the demo sweep relies on it).
    """

    def __init__(self, hidden: int = 512, depth: int = 2, width: float = 1.0) -> None:
        if hidden < 1 or depth < 1 or width <= 0:
            raise ValueError(f"arch=mlp needs hidden >= 1, depth >= 1 and width > 0; "
                             f"got {hidden}, {depth}, {width}")
        self.hidden = max(1, round(hidden * width))
        self.depth = depth

    def generator(self, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """(B, z_dim) -> (B, D): ReLU hidden layers, linear output (points are unbounded)."""
        d = point_dim(shape)
        return nn.Sequential(*self._stack(z_dim, nn.ReLU, "none"), nn.Linear(self.hidden, d))

    def critic(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, D) -> (B,) logits: [Linear, norm, LeakyReLU 0.2] x depth -> Linear 1."""
        d = point_dim(shape)
        return nn.Sequential(*self._stack(d, _lrelu, norm), nn.Linear(self.hidden, 1),
                             nn.Flatten(0))

    def encoder(self, shape: Sequence[int], z_dim: int, norm: str) -> nn.Module:
        """(B, D) -> (B, 2*z_dim): the Gaussian's mean, then its pre-softplus std."""
        d = point_dim(shape)
        return nn.Sequential(*self._stack(d, _lrelu, norm), nn.Linear(self.hidden, 2 * z_dim))

    def autoencoder(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, D) -> (B, D): hidden x depth -> code (hidden // 4, at least 2) -> hidden x depth
        -> linear D (BEGAN's discriminator); `norm` after every hidden and code Linear."""
        d = point_dim(shape)
        code = max(2, self.hidden // 4)
        layers = self._stack(d, _lrelu, norm) + [nn.Linear(self.hidden, code), *_norm(norm, code),
                                                 _lrelu()]
        layers += [*self._stack(code, _lrelu, norm), nn.Linear(self.hidden, d)]
        return nn.Sequential(*layers)

    def _stack(self, in_features: int, activation: Callable[[], nn.Module],
               norm: str) -> list[nn.Module]:
        """[Linear, norm, activation] x depth, from in_features to `hidden`."""
        layers: list[nn.Module] = []
        for i in range(self.depth):
            layers.append(nn.Linear(in_features if i == 0 else self.hidden, self.hidden))
            layers += _norm(norm, self.hidden)
            layers.append(activation())
        return layers


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(LRELU_SLOPE)


def _norm(norm: str, features: int) -> list[nn.Module]:
    # PyTorch's batch-norm defaults: there are no study settings for points.
    layer = norm_layer(check_arch_norm(norm, "mlp"), features, 1)
    return [] if layer is None else [layer]

