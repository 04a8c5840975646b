"""ganbench: a large-scale GAN benchmark harness (Lucic et al. 2018, "Are GANs Created Equal?")."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

