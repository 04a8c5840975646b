"""The configs' own OmegaConf resolvers, registered wherever the package is imported (train,
tests, launchers' workers, gan-status) before any config resolves.

    ${gan_name:preset,loss,penalty,norm}   a run's name: the preset's, or its parts'
                                          (composition.py)
    ${non_identity_keys:}             override keys left out of sweep job dir names (identity.py)
    ${best_sample:FILE,gan,dataset,search,features}   phase 3's sample, from a selection file
                                                      (selection.py)
"""

from __future__ import annotations

from omegaconf import OmegaConf

from benchmark.composition import gan_name
from benchmark.identity import override_exclude_keys
from benchmark.selection import lookup

OmegaConf.register_new_resolver("gan_name", gan_name, replace=True)
OmegaConf.register_new_resolver("non_identity_keys", override_exclude_keys, replace=True)
OmegaConf.register_new_resolver("best_sample", lookup, replace=True)
