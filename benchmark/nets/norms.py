"""D's normalisation (Kurach et al. 2019's "normalization" axis): what an architecture builds into
its layers (`ARCH_NORMS`) and spectral normalisation, which the caller wraps around a built net.

    none       no normalisation
    batch      batch norm (Ioffe & Szegedy 2015) where the study's nets have it
    layer      layer norm (Ba et al. 2016) in the same places: over all of one sample's features
    spectral   every Conv/ConvTranspose/Linear weight divided by its largest singular value,
               estimated by one power iteration per training forward pass (Miyato et al. 2018)
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

# What an architecture's critic/autoencoder/encoder take as `norm`.
ARCH_NORMS = ("none", "batch", "layer")
# What a run may ask for (`norm=...`): spectral is applied after the architecture built D.
NORMS = (*ARCH_NORMS, "spectral")

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
             nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def check_arch_norm(norm: str, arch: str) -> str:
    """`norm` if an architecture builds it, else ValueError naming the valid ones."""
    if norm not in ARCH_NORMS:
        hint = " (spectral norm is wrapped around the built net by its caller)" \
            if norm == "spectral" else ""
        raise ValueError(f"arch={arch}: norm must be one of {ARCH_NORMS}; got {norm!r}{hint}")
    return norm


def norm_layer(norm: str, features: int, dims: int, *, bn_eps: float = 1e-5,
               bn_momentum: float = 0.1) -> nn.Module | None:
    """The layer `norm` puts after a Linear (dims=1) or conv (dims=2) with `features` outputs.

    None for "none". Layer norm on conv maps is GroupNorm with one group: normalised over
    (C, H, W) with a per-channel scale and shift, as TF's `layer_norm` in compare_gan v3.
    """
    if norm == "none":
        return None
    if norm == "batch":
        cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        return cls(features, eps=bn_eps, momentum=bn_momentum)
    if norm == "layer":
        return nn.LayerNorm(features) if dims == 1 else nn.GroupNorm(1, features)
    raise ValueError(f"norm must be one of {ARCH_NORMS}; got {norm!r}")


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise every Conv/ConvTranspose/Linear weight of `module` (in place).

    torch's parametrization: `weight` becomes W / sigma(W), sigma estimated by one power
    iteration per forward pass in training mode (the estimate is a buffer, kept in state_dict);
    the raw weight trains as `parametrizations.weight.original`. ConvTranspose weights are
    normalised along their output dim, as torch does by default. Returns `module`.
    """
    for m in list(module.modules()):
        if isinstance(m, _WEIGHTED):
            spectral_norm(m)
    return module
