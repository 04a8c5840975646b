"""GAN objectives: each says which discriminator it needs and supplies its losses and hooks
(`Objective`); built by Hydra from conf/gan/*.yaml (`objective._target_`)."""

from benchmark.objectives.base import Logs, Objective
from benchmark.objectives.gans import BEGAN, DRAGAN, LSGAN, MMGAN, NSGAN, WGAN, WGANGP
from benchmark.objectives.vae import VAE

__all__ = ["BEGAN", "DRAGAN", "LSGAN", "MMGAN", "NSGAN", "VAE", "WGAN", "WGANGP", "Logs",
           "Objective"]
