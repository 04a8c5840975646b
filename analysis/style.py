"""Names, orders and colours shared by every table and plot, so an objective looks the same
everywhere.

Objectives are open-ended: a user may add `conf/gan/my_gan.yaml` at any time. Every name gets a
label (`gan_label`) and a colour (`colours`), and the colours of the objectives shown together
are told apart: the presets keep fixed colours, any other name gets the candidate colour
farthest (CIELAB distance) from the colours already in the figure. Every colour has at least
3:1 contrast against white (WCAG's rule for graphics), so nothing is drawn yellow on white.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
from matplotlib.colors import to_hex, to_rgb

# The study's objectives, in the order of its tables.
GAN_ORDER = ("mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae")
# The later families this harness adds (conf/gan/), after the study's, in this order.
FAMILY_ORDER = ("hinge_sn", "ebgan", "magan", "fisher_gan", "mmd_gan", "gmmn", "cramer_gan",
                "mcgan")
GAN_LABELS = {"mm_gan": "MM GAN", "ns_gan": "NS GAN", "lsgan": "LSGAN", "wgan": "WGAN",
              "wgan_gp": "WGAN GP", "dragan": "DRAGAN", "began": "BEGAN", "vae": "VAE",
              "hinge_sn": "Hinge SN", "ebgan": "EBGAN", "magan": "MAGAN",
              "fisher_gan": "Fisher GAN", "mmd_gan": "MMD GAN", "gmmn": "GMMN",
              "cramer_gan": "Cramér GAN", "mcgan": "McGAN"}
# Fixed colours of the known objectives: pairwise CIELAB distance >= 20 and contrast >= 3:1 on
# white (tests/analysis/test_style.py checks both). Similar families get unlike hues (MM GAN
# blue vs Cramér near-black, BEGAN brown vs McGAN lilac); VAE, the non-GAN, grey.
PALETTE = {"mm_gan": "#0072B2", "ns_gan": "#D17A00", "lsgan": "#009E73", "wgan": "#C62828",
           "wgan_gp": "#CC79A7", "dragan": "#7B3FB5", "began": "#8C564B", "vae": "#6E6E6E",
           "hinge_sn": "#808000", "ebgan": "#00A3B8", "magan": "#1A1A80",
           "fisher_gan": "#6B0000", "mmd_gan": "#E0157A", "gmmn": "#1E5B00",
           "cramer_gan": "#222222", "mcgan": "#A578FF"}
MIN_CONTRAST = 3.0  # against white, WCAG 2.1 non-text contrast

DATASET_ORDER = ("mnist", "fashion_mnist", "cifar10", "celeba")
DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "FASHION", "cifar10": "CIFAR10",
                  "celeba": "CELEBA"}
TOY_DATASETS = ("ring8", "grid25")


def gan_label(name: str) -> str:
    """`ns_gan` -> `NS GAN`; any other name readable: `my_gan` -> `my GAN`."""
    if name in GAN_LABELS:
        return GAN_LABELS[name]
    words = re.split(r"[_\s]+", str(name).strip()) or [str(name)]
    return " ".join(w.upper() if w.lower() in ("gan", "sn", "gp", "vae") else w
                    for w in words if w) or str(name)


def dataset_label(name: str) -> str:
    """`fashion_mnist` -> `FASHION` (the study's spelling); others keep their name."""
    return DATASET_LABELS.get(name, str(name))


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """`1 run`, `2 runs`."""
    return f"{n} {word if n == 1 else plural_form or word + 's'}"


# --- colours -----------------------------------------------------------------------------------

def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def relative_luminance(c: str) -> float:
    """WCAG 2.1 relative luminance of a colour (0 black, 1 white)."""
    r, g, b = _linear(np.asarray(to_rgb(c), dtype=np.float64))
    return float(0.2126 * r + 0.7152 * g + 0.0722 * b)


def contrast_on_white(c: str) -> float:
    """WCAG contrast ratio of a colour against white (1 to 21)."""
    return 1.05 / (relative_luminance(c) + 0.05)


def cielab(c: str) -> np.ndarray:
    """(L*, a*, b*) of an sRGB colour (D65 white)."""
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = m @ _linear(np.asarray(to_rgb(c), dtype=np.float64)) / np.array([0.95047, 1.0, 1.08883])
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_distance(a: str, b: str) -> float:
    """CIE76 colour difference (Euclidean in CIELAB): ~2 just noticeable, >20 clearly apart."""
    return float(np.linalg.norm(cielab(a) - cielab(b)))


@lru_cache(maxsize=1)
def _candidates() -> tuple[tuple[str, ...], np.ndarray]:
    # An sRGB grid of colours dark enough for white paper and not near-black (they would read
    # as the black of the axes and the reference lines).
    steps = np.linspace(0.0, 1.0, 11)
    out = []
    for r in steps:
        for g in steps:
            for b in steps:
                c = to_hex((r, g, b))
                if contrast_on_white(c) >= MIN_CONTRAST and cielab(c)[0] >= 25:
                    out.append(c)
    return tuple(out), np.array([cielab(c) for c in out])


def colours(names: Iterable[str]) -> dict[str, str]:
    """A colour per objective, distinct within `names` (the objectives of one figure or report).

    Known objectives keep their PALETTE colour. Each other name, in sorted order, gets the
    candidate farthest from every colour already taken; ties go by a hash of the name, so the
    result depends only on the set of names.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    out = {n: PALETTE[n] for n in names if n in PALETTE}
    cands, labs = _candidates()
    taken = [cielab(c) for c in out.values()]
    for name in sorted(n for n in names if n not in PALETTE):
        if taken:
            dist = np.min(np.linalg.norm(labs[:, None, :] - np.array(taken)[None], axis=2), axis=1)
        else:
            dist = np.zeros(len(cands))
        # stable tie-break: rotate the candidates by the name's hash
        shift = zlib.crc32(name.encode()) % len(cands)
        order = np.roll(np.arange(len(cands)), -shift)
        best = order[int(np.argmax(dist[order]))]
        out[name] = cands[best]
        taken.append(labs[best])
    return {n: out[n] for n in names}


def colour(name: str) -> str:
    """The objective's colour: fixed for the known ones; any other name gets one apart from all
    of them (use `colours` for several unknown names shown together)."""
    if name in PALETTE:
        return PALETTE[name]
    return colours([*PALETTE, name])[name]


def order_gans(names: Iterable[str]) -> list[str]:
    """The study's order first, then the later families', then any other alphabetically."""
    names = {str(n) for n in names}
    known = GAN_ORDER + FAMILY_ORDER
    return [g for g in known if g in names] + sorted(n for n in names if n not in known)


def order_datasets(names: Iterable[str]) -> list[str]:
    """The study's datasets first, then the others alphabetically."""
    names = {str(n) for n in names}
    return [d for d in DATASET_ORDER if d in names] + sorted(n for n in names
                                                            if n not in DATASET_ORDER)
