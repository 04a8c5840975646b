"""ganbench's Hydra plugins: a sweeper that plans every job before launching any, and the
`plan` and `slurm` launchers that use the plan (conf/launcher/*.yaml select them).

Hydra imports every module of the `hydra_plugins` namespace package when it scans for plugins,
for every `gan-train` run: nothing here imports torch, submitit or the training code at import.
"""
