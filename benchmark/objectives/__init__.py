"""GAN objectives: each says which discriminator it needs and supplies its losses and hooks
(`Objective`); built by Hydra from conf/gan/*.yaml (`objective._target_`).

The study's objectives are in `gans.py` and `vae.py`; further families in `energy.py` (EBGAN,
MAGAN), `ipm.py` (Fisher GAN, McGAN, Cramér GAN) and `mmd.py` (MMD GAN, GMMN).

Left out: RWGAN (relaxed Wasserstein GAN, Guo et al. 2017). The paper defines its distance as an
optimal-transport problem with a Bregman cost B_phi(x, y) = phi(x) - phi(y) - <grad phi(y), x - y>,
but we could not pin down, from the paper text or a reference implementation available to us,
how its training algorithm turns that cost into the critic's and the generator's losses (beyond
a WGAN-like critic update with clipping). An objective under its name would be a guess, so there
is none.
"""

from benchmark.objectives.base import Logs, Objective
from benchmark.objectives.energy import EBGAN, MAGAN
from benchmark.objectives.gans import BEGAN, GAN
from benchmark.objectives.ipm import CramerGAN, FisherGAN, McGAN
from benchmark.objectives.mmd import GMMN, MMDGAN
from benchmark.objectives.vae import VAE

__all__ = ["BEGAN", "EBGAN", "GAN", "GMMN", "MAGAN", "MMDGAN", "VAE", "CramerGAN", "FisherGAN",
           "Logs", "McGAN", "Objective"]
