"""Names, orders and colours shared by every table and plot, so an objective looks the same
everywhere."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

# The study's objectives, in the order of its tables.
GAN_ORDER = ("mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae")
GAN_LABELS = {"mm_gan": "MM GAN", "ns_gan": "NS GAN", "lsgan": "LSGAN", "wgan": "WGAN",
              "wgan_gp": "WGAN GP", "dragan": "DRAGAN", "began": "BEGAN", "vae": "VAE"}
# Fixed colours per objective (colour-blind-friendly where the 8 allow; VAE, the non-GAN, grey).
PALETTE = {"mm_gan": "#0072B2", "ns_gan": "#E69F00", "lsgan": "#009E73", "wgan": "#D55E00",
           "wgan_gp": "#CC79A7", "dragan": "#56B4E9", "began": "#8C564B", "vae": "#7F7F7F"}
# The later families this harness adds (conf/gan/), after the study's, in this order.
FAMILY_ORDER = ("hinge_sn", "ebgan", "magan", "fisher_gan", "mmd_gan", "gmmn", "cramer_gan",
                "mcgan")
GAN_LABELS |= {"hinge_sn": "Hinge SN", "ebgan": "EBGAN", "magan": "MAGAN",
               "fisher_gan": "Fisher GAN", "mmd_gan": "MMD GAN", "gmmn": "GMMN",
               "cramer_gan": "Cramér GAN", "mcgan": "McGAN"}
PALETTE |= {"hinge_sn": "#BCBD22", "ebgan": "#17BECF", "magan": "#9467BD",
            "fisher_gan": "#F0E442", "mmd_gan": "#E41A1C", "gmmn": "#2CA02C",
            "cramer_gan": "#393B79", "mcgan": "#AD494A"}
# Compositions (hinge+r1+spectral) and user objectives: a stable pick by name.
_EXTRA_COLOURS = ("#637939", "#E7BA52", "#7B4173", "#3182BD", "#E6550D", "#31A354")

DATASET_ORDER = ("mnist", "fashion_mnist", "cifar10", "celeba")
DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "FASHION", "cifar10": "CIFAR10",
                  "celeba": "CELEBA"}
TOY_DATASETS = ("ring8", "grid25")


def gan_label(name: str) -> str:
    """`ns_gan` -> `NS GAN`; unknown objectives keep their name."""
    return GAN_LABELS.get(name, str(name))


def dataset_label(name: str) -> str:
    """`fashion_mnist` -> `FASHION` (the study's spelling); others keep their name."""
    return DATASET_LABELS.get(name, str(name))


def colour(name: str) -> str:
    """The objective's colour: fixed for the study's, stable (by name hash) for any other."""
    if name in PALETTE:
        return PALETTE[name]
    return _EXTRA_COLOURS[zlib.crc32(str(name).encode()) % len(_EXTRA_COLOURS)]


def order_gans(names: Iterable[str]) -> list[str]:
    """The study's order first, then the later families', then any other alphabetically."""
    names = set(names)
    known = GAN_ORDER + FAMILY_ORDER
    return [g for g in known if g in names] + sorted(n for n in names if n not in known)


def order_datasets(names: Iterable[str]) -> list[str]:
    """The study's datasets first, then the others alphabetically."""
    names = set(names)
    return [d for d in DATASET_ORDER if d in names] + sorted(n for n in names
                                                            if n not in DATASET_ORDER)
