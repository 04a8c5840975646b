"""``gan-fid A B``: FID (and KID) between two image sets or saved statistics, with the harness's extractors.

A and B are each an image folder (png/jpg/..., read with PIL, non-recursive, sorted), an
``.npz`` of images (key ``images`` or its single array; uint8 NHWC/NCHW/NHW, or float in
[0, 1]), or an ``.npz`` of statistics (``mu``, ``sigma``, ``n``, as ``FeatureStats.save`` and
``--save-stats`` write them). Feature extractors are built from the real configs in ``conf/``
(Hydra's compose API), so ``-o data.root=/datasets`` or ``-o features.weights=PATH`` work as
they do for ``gan-train``::

    gan-fid samples/ real/                              # Inception FID (the paper's)
    gan-fid samples.npz real/ --kid --json
    gan-fid samples/ real_stats.npz --fid-inf           # also FID extrapolated to n → ∞ (FID∞)
    gan-fid real/ --save-stats real_stats.npz           # statistics of A, for later runs
    gan-fid samples/ real_stats.npz
    gan-fid samples/ ref/ --features classifier --dataset mnist -o data.root=/datasets

User errors (missing or empty inputs, mixed image sizes, fewer than 2 samples, unknown file
types, mismatched feature dimensions) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.config_dir import compose
from benchmark.metrics.stats import FeatureStats, RunningStats

__all__ = ["main"]

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
GRAY_MODES = ("1", "L", "LA")  # decoded as one channel; everything else as RGB (as torch-fidelity)


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


@dataclass
class Source:
    """One input (A or B): images to featurise, or precomputed statistics."""

    label: str
    path: Path
    n: int
    shape: tuple[int, ...] | None = None  # (C, H, W) of images; None for statistics
    batches: Callable[[int], Iterator[Tensor]] | None = None  # batch size ↦ model-space batches
    stats: FeatureStats | None = None
    extractor: dict[str, Any] | None = None  # identity stored in a statistics file, if any
    feats: list[Tensor] = field(default_factory=list)

    @property
    def is_stats(self) -> bool:
        return self.stats is not None

    def describe(self) -> str:
        if self.is_stats:
            return f"{self.label}={self.path} (statistics, n={self.n})"
        return f"{self.label}={self.path} ({self.n} images {'x'.join(map(str, self.shape or ()))})"


# --- inputs ------------------------------------------------------------------------------------


def _open_source(label: str, path: Path, num_samples: int | None, warn: list[str]) -> Source:
    if not path.exists():
        raise CliError(f"{label}: {path} does not exist")
    if path.is_dir():
        src = _image_folder(label, path)
    elif path.suffix.lower() == ".npz":
        src = _npz(label, path)
    else:
        raise CliError(
            f"{label}: {path}: unknown file type {path.suffix or '(none)'!r}; expected an image "
            "folder, an .npz of images or an .npz of statistics (mu, sigma, n)"
        )
    if src.is_stats:
        if num_samples is not None and num_samples != src.n:
            warn.append(f"--num-samples does not apply to statistics file {label} (n={src.n})")
        return src
    if num_samples is not None:
        if src.n < num_samples:
            raise CliError(f"{label}: {path} has {src.n} images, fewer than --num-samples {num_samples}")
        src = _limit(src, num_samples)
    if src.n < 2:
        raise CliError(f"{label}: {path} has {src.n} image(s); a covariance needs at least 2 samples")
    return src


def _limit(src: Source, n: int) -> Source:
    inner = src.batches
    assert inner is not None

    def batches(bs: int) -> Iterator[Tensor]:
        left = n
        for b in inner(bs):
            if left <= 0:
                return
            yield b[:left]
            left -= b.shape[0]

    return Source(src.label, src.path, n, src.shape, batches)


def _image_folder(label: str, folder: Path) -> Source:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise CliError(f"{label}: no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) in {folder}")
    # First pass reads headers only: size and mode errors surface before any computation.
    sizes: dict[tuple[int, int], Path] = {}
    gray = True
    for f in files:
        try:
            with Image.open(f) as im:
                sizes.setdefault(im.size, f)
                gray = gray and im.mode in GRAY_MODES
        except (UnidentifiedImageError, OSError) as e:
            raise CliError(f"{label}: cannot read image {f}: {e}") from e
        if len(sizes) > 1:
            (s0, f0), (s1, f1) = sizes.items()
            raise CliError(
                f"{label}: mismatched image sizes in {folder}: {f0.name} is {s0[0]}x{s0[1]}, "
                f"{f1.name} is {s1[0]}x{s1[1]} (width x height)"
            )
    (w, h), = sizes
    mode, c = ("L", 1) if gray else ("RGB", 3)

    def batches(bs: int) -> Iterator[Tensor]:
        for i in range(0, len(files), bs):
            arrs = []
            for f in files[i : i + bs]:
                with Image.open(f) as im:
                    arrs.append(np.asarray(im.convert(mode)).reshape(h, w, c))
            yield _to_model_space(np.stack(arrs).transpose(0, 3, 1, 2))

    return Source(label, folder, len(files), (c, h, w), batches)


def _to_model_space(x: np.ndarray) -> Tensor:
    # A fresh copy has standard strides: numpy calls a transposed (N, 1, H, W) array contiguous,
    # but its strides make torch pick another convolution path (other round-off).
    t = torch.from_numpy(x.copy(order="C"))
    return t.to(torch.float32).div_(255.0) if t.dtype == torch.uint8 else t.to(torch.float32)


def _npz(label: str, path: Path) -> Source:
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:  # not numpy data, or object arrays (pickles are refused)
        raise CliError(f"{label}: cannot read {path}: {e}") from e
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise CliError(f"{label}: {path} is a bare .npy array, not an .npz archive")
    try:
        with f:
            keys = list(f.keys())
            if "mu" in keys and "sigma" in keys:
                ident = json.loads(str(f["extractor"])) if "extractor" in keys else None
                return _stats_source(label, path, ident)
            if "images" in keys:
                arr = f["images"]
            elif len(keys) == 1:
                arr = f[keys[0]]
            else:
                raise CliError(
                    f"{label}: {path} holds arrays {keys}; expected 'images' (or a single array) "
                    "or statistics 'mu', 'sigma', 'n'"
                )
    except (OSError, ValueError) as e:
        raise CliError(f"{label}: cannot read {path}: {e}") from e
    x = _image_array(label, path, arr)
    return Source(label, path, int(x.shape[0]), tuple(x.shape[1:]),
                  lambda bs: (_to_model_space(x[i : i + bs]) for i in range(0, x.shape[0], bs)))


def _stats_source(label: str, path: Path, ident: dict[str, Any] | None) -> Source:
    try:
        stats = FeatureStats.load(path)
    except (KeyError, ValueError) as e:
        raise CliError(f"{label}: {path}: not valid statistics ({e})") from e
    return Source(label, path, stats.n, stats=stats, extractor=ident)


def _image_array(label: str, path: Path, arr: np.ndarray) -> np.ndarray:
    """An image array as (N, C, H, W), uint8 or float32 in [0, 1]."""
    where = f"{label}: {path}"
    if arr.ndim == 3:  # (N, H, W) grayscale
        arr = arr[:, None]
    elif arr.ndim == 4:
        if arr.shape[1] not in (1, 3):
            if arr.shape[3] not in (1, 3):
                raise CliError(f"{where}: images of shape {arr.shape} have neither 1 nor 3 channels "
                               "(expected NCHW or NHWC)")
            arr = arr.transpose(0, 3, 1, 2)  # NHWC; when both could be channels, NCHW wins
    else:
        raise CliError(f"{where}: expected images (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise CliError(f"{where}: images must be uint8 (0..255) or float in [0, 1], got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise CliError(f"{where}: images contain NaN or inf")
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise CliError(f"{where}: float images must lie in [0, 1], got values in [{lo:g}, {hi:g}] "
                       "(rescale [-1, 1] outputs with (x + 1) / 2)")
    return arr.astype(np.float32, copy=False)


# --- features ----------------------------------------------------------------------------------


def _compose(features: str, dataset: str | None, overrides: list[str]) -> Any:
    groups = [f"features={features}"] + ([f"dataset={dataset}"] if dataset else [])
    return compose([*groups, *overrides])


def _build_extractor(args: argparse.Namespace, shape: tuple[int, ...], device: torch.device) -> Any:
    from hydra.utils import instantiate

    from benchmark.data import Data, build_dataset

    if args.features == "classifier" and not args.dataset:
        raise CliError("--features classifier needs --dataset NAME: the classifier is trained on "
                       "that dataset's train split")
    overrides = list(args.override)
    if args.features == "inception" and args.batch_size is not None:
        overrides.insert(0, f"features.batch_size={args.batch_size}")
    cfg = _compose(args.features, args.dataset, overrides)
    target = str(cfg.features.get("_target_", ""))
    if not target.lower().endswith(f"{args.features}features"):
        raise CliError(f"dataset={args.dataset} selects features {target}, not {args.features}; "
                       f"add -o features={args.features}")
    if args.dataset and args.features != "inception":
        data = build_dataset(cfg.dataset)
    elif args.features == "inception":
        data = None  # any image size: the network resizes to 299
    else:
        # raw features only need the sample shape
        empty = torch.empty((0, *shape), dtype=torch.uint8)
        data = Data(name="gan-fid", train=empty, test=empty)
    return instantiate(cfg.features, data=data, device=str(device))


def _match_channels(x: Tensor, shape: tuple[int, ...] | None, label: str) -> Tensor:
    """Fit images to the extractor's sample shape where that is lossless (RGB-stored grayscale)."""
    if shape is None or tuple(x.shape[1:]) == tuple(shape):
        return x
    if tuple(x.shape[2:]) == tuple(shape[1:]):
        if x.shape[1] == 3 and shape[0] == 1 and bool((x[:, :1] == x[:, 1:]).all()):
            # Grayscale saved as RGB (torchvision's save_image always writes RGB). Contiguous:
            # a strided one-channel view can take another convolution path (other round-off).
            return x[:, :1].contiguous()
        if x.shape[1] == 1 and shape[0] == 3:
            return x.expand(-1, 3, -1, -1)
    raise CliError(f"{label}: images of shape {tuple(x.shape[1:])} do not fit the {shape} samples "
                   "the features expect")


def _featurise(src: Source, extractor: Any, batch_size: int, keep: bool) -> FeatureStats:
    from tqdm import tqdm

    assert src.batches is not None
    stats = RunningStats(extractor.dim)
    with tqdm(total=src.n, desc=f"features {src.label}", unit="img", disable=not sys.stderr.isatty(),
              leave=False) as bar:
        for batch in src.batches(batch_size):
            feats = extractor(_match_channels(batch, getattr(extractor, "sample_shape", None), src.label))
            stats.update(feats)
            if keep:
                src.feats.append(feats.cpu())
            bar.update(batch.shape[0])
    return stats.finalize()


# --- main --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gan-fid",
        description="FID between two image sets (folders or .npz) or saved feature statistics (.npz).",
    )
    p.add_argument("a", metavar="A", type=Path, help="image folder, .npz of images, or .npz statistics")
    p.add_argument("b", metavar="B", type=Path, nargs="?",
                   help="the same kinds as A (optional with --save-stats)")
    p.add_argument("--features", choices=("inception", "classifier", "raw"), default="inception",
                   help="inception: the paper's FID (default); classifier: the harness's per-dataset "
                        "LeNet (needs --dataset); raw: the pixels")
    p.add_argument("--dataset", help="dataset config (conf/dataset/) whose train split trains the classifier")
    p.add_argument("--num-samples", type=int, help="use the first N images of each image input")
    p.add_argument("--batch-size", type=int, help="images per feature-extractor pass (default 50)")
    p.add_argument("--device", default="auto", help="auto (cuda if available) | cpu | cuda | cuda:N")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--kid", action="store_true", help="also Kernel Inception Distance (benchmark.metrics.kid)")
    p.add_argument("--fid-inf", action="store_true",
                   help="also FID-infinity (Chong & Forsyth 2020): FID on subsets of A fitted "
                        "against 1/n and extrapolated to n → ∞ (A must be images)")
    p.add_argument("--save-stats", metavar="OUT.npz", type=Path,
                   help="write A's feature statistics (mu, sigma, n, extractor) to OUT.npz")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                   help="Hydra override of the configs, e.g. data.root=/datasets or features.weights=PATH")
    return p


def _check_args(args: argparse.Namespace) -> Any:
    """The command line's own mistakes, as CliErrors; KID's function when --kid asks for it."""
    if args.b is None and args.save_stats is None:
        raise CliError("need two inputs A B (or one with --save-stats OUT.npz)")
    for name in ("num_samples", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < (2 if name == "num_samples" else 1):
            raise CliError(f"--{name.replace('_', '-')} must be >= {2 if name == 'num_samples' else 1}, got {value}")
    kid_fn = None
    if args.kid:
        try:
            from benchmark.metrics.kid import kid as kid_fn
        except ImportError as e:
            raise CliError(f"--kid: KID is unavailable in this installation ({e}); run without --kid") from e
    return kid_fn


def _check_sources(args: argparse.Namespace, sources: list[Any], kid: bool,
                   warn: list[str]) -> list[Any]:
    """What the inputs cannot do together, as CliErrors; the inputs that are images."""
    if args.save_stats is not None and sources[0].is_stats:
        raise CliError(f"--save-stats: A ({args.a}) is already a statistics file")
    if kid:
        for s in sources:
            if s.is_stats:
                raise CliError(f"--kid needs the features of both sets; {s.label} ({s.path}) holds only statistics")
    if args.fid_inf:
        if args.b is None:
            raise CliError("--fid-inf needs two inputs A B (A the generated images)")
        if sources[0].is_stats:
            raise CliError(f"--fid-inf needs A's features for its subsets; A ({args.a}) holds only statistics")
    images = [s for s in sources if not s.is_stats]
    if args.dataset and args.features == "inception":
        warn.append("--dataset is not used by inception features")
    if args.features != "inception" and len(images) == 2 and images[0].shape != images[1].shape:
        a, b = images
        if a.shape[1:] != b.shape[1:]:  # channels are reconciled per batch
            raise CliError(f"mismatched image sizes: A is {a.shape}, B is {b.shape} (C, H, W); "
                           f"{args.features} features need one size")
    return images


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmark.metrics.frechet import frechet_distance
    from benchmark.runtime import resolve_device

    warn: list[str] = []
    kid_fn = _check_args(args)
    device = resolve_device(args.device)
    batch_size = args.batch_size or 50

    sources = [_open_source("A", args.a, args.num_samples, warn)]
    if args.b is not None:
        sources.append(_open_source("B", args.b, args.num_samples, warn))
    images = _check_sources(args, sources, kid_fn is not None, warn)

    extractor = None
    ident: dict[str, Any] | None = None
    if images:
        extractor = _build_extractor(args, images[0].shape or (), device)
        ident = extractor.identity()
        dim = int(extractor.dim)
    else:
        dim = sources[0].stats.dim  # type: ignore[union-attr]
    for s in sources:
        if s.is_stats and s.stats.dim != dim:  # type: ignore[union-attr]
            what = f"{args.features} features are {dim}-d" if extractor else f"A's are {dim}-d"
            raise CliError(f"{s.label}: {s.path} holds {s.stats.dim}-d statistics but {what}")  # type: ignore[union-attr]
    known = [(s.label, s.extractor) for s in sources if s.extractor is not None]
    if ident is not None:
        known.append(("these features", ident))
    if len({json.dumps(i, sort_keys=True) for _, i in known}) > 1:
        warn.append("the inputs' features come from different extractors ("
                    + "; ".join(f"{lbl}: {i.get('name')} {i.get('weights_sha256', '')[:16]}".rstrip()
                                for lbl, i in known)
                    + "): the FID is not comparable with either's")

    for s in images:
        keep = kid_fn is not None or (args.fid_inf and s is sources[0])
        s.stats = _featurise(s, extractor, batch_size, keep=keep)
    if args.save_stats is not None:
        _save_stats(sources[0].stats, ident, args.save_stats)  # type: ignore[arg-type]

    out: dict[str, Any] = {
        "features": args.features if extractor else None,
        "extractor_id": extractor.short_id() if extractor else None,
        "extractor": ident,
        "dim": dim,
        "a": str(args.a), "n_a": sources[0].n,
        "b": str(args.b) if args.b is not None else None,
        "n_b": sources[1].n if len(sources) > 1 else None,
        "fid": None,
        "saved_stats": str(args.save_stats) if args.save_stats is not None else None,
        "warnings": warn,
    }
    if len(sources) == 2:
        sa, sb = sources[0].stats, sources[1].stats
        assert sa is not None and sb is not None
        if min(sa.n, sb.n) < dim:
            warn.append(f"FID estimate unreliable: fewer samples than feature dimensions "
                        f"(n_A={sa.n}, n_B={sb.n}, d={dim}); the covariances are singular")
        if not (np.isfinite(sa.mu).all() and np.isfinite(sb.mu).all()
                and np.isfinite(sa.sigma).all() and np.isfinite(sb.sigma).all()):
            raise CliError("the features contain NaN or inf; no FID")
        out["fid"] = frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)
        if kid_fn is not None:
            fa, fb = (torch.cat(s.feats) for s in sources)
            mean, std = kid_fn(fa, fb)
            out["kid_mean"], out["kid_std"] = float(mean), float(std)
        if args.fid_inf:
            from benchmark.metrics.fid_inf import fid_infinity

            inf = fid_infinity(torch.cat(sources[0].feats), sb.mu, sb.sigma)
            out["fid_inf"], out["fid_inf_ns"] = inf.value, list(inf.ns)
    return out


def _save_stats(stats: FeatureStats, ident: dict[str, Any] | None, path: Path) -> None:
    """FeatureStats.save's fields plus the extractor identity (JSON), which gan-fid checks on load."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to other names
        np.savez(f, mu=stats.mu, sigma=stats.sigma, n=np.int64(stats.n),
                 extractor=np.array(json.dumps(ident, sort_keys=True)))


def _report(out: dict[str, Any], as_json: bool) -> None:
    for w in out["warnings"]:
        print(f"gan-fid: warning: {w}", file=sys.stderr)
    if as_json:
        print(json.dumps(out, sort_keys=True))
        return
    if out["saved_stats"]:
        print(f"saved statistics of A (n={out['n_a']}, d={out['dim']}) to {out['saved_stats']}",
              file=sys.stderr)
    if out["fid"] is not None:
        feats = f"{out['features']} features" if out["features"] else "saved statistics"
        print(f"gan-fid: {feats}, d={out['dim']}, n_A={out['n_a']}, n_B={out['n_b']}"
              + (f", extractor {out['extractor_id']}" if out["extractor_id"] else ""), file=sys.stderr)
        print(f"FID: {out['fid']!r}")  # full precision, as pytorch-fid prints it
    if "kid_mean" in out:
        print(f"KID: {out['kid_mean']!r} ± {out['kid_std']!r}")
    if "fid_inf" in out:
        ns = out["fid_inf_ns"]
        print(f"FID-infinity: {out['fid_inf']!r} (from {len(ns)} subsets of {ns[0]}..{ns[-1]})")


def main(argv: list[str] | None = None) -> int:
    """Console entry point ``gan-fid``; returns the exit status (2 for user errors)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        out = _run(args)
    except (CliError, OSError, ValueError, HydraException, OmegaConfBaseException) as e:
        # User errors: missing weights or datasets, unwritable outputs, bad shapes, unknown
        # config names. Hydra's
        # instantiate wraps the target's exception; its own message is the useful one.
        cause = e.__cause__ if isinstance(e, HydraException) and e.__cause__ is not None else e
        # (Hydra appends its config search path to composition errors: noise here.)
        msg = str(cause).split("\nConfig search path")[0].strip() or type(cause).__name__
        print(f"gan-fid: error: {msg}", file=sys.stderr)
        return 2
    _report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
