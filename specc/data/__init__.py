"""Datasets (one module per source, registered under ``specc.datasets``), splits, views,
scaling, augmentation and the batches training reads.

``base``: the dataset contract. ``prepare``: split/window/scale/shape data for a network and
refuse data that does not fit it (NumPy only). ``augment`` and ``loader``: torch side.
"""
