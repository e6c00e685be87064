"""Hyperparameter search: a space over the vocabulary, grid and random trials, batched training."""
