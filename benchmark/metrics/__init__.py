"""Evaluation metrics: one registry (evaluator.py) over their computations.

evaluator.py   the registry (METRICS, register_metric) and the Evaluator that draws once
reference.py   the real side: a split's features and feature stats, cached on disk
features.py, classifier.py, inception.py   feature extractors
fid.py, frechet.py, fid_inf.py, kid.py, precision_recall.py, modes.py, triangles.py   the metrics
stats.py, cache.py   streaming feature statistics; the on-disk cache

Nothing is imported here, so that e.g. ``benchmark.metrics.cache`` or ``frechet`` can be used
by analysis code and worker processes without importing the rest.
"""
