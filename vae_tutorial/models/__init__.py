"""Latent variable models (moved from ``vae_tutorial/models.py``)."""

from vae_tutorial.models.vae import VAE, GaussianMixture, LinearGaussian

__all__ = ["GaussianMixture", "LinearGaussian", "VAE"]
