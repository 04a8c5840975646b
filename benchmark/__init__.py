"""ganbench: a large-scale GAN benchmark harness (Lucic et al. 2018, "Are GANs Created Equal?")."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# Registers the configs' ${gan_name:...} resolver wherever the package is imported (train, tests,
# launchers' workers) before any config resolves.
from benchmark import composition  # noqa: E402, F401
