"""Figures for the chapters (moved from ``vae_tutorial/plotting.py``)."""

from vae_tutorial.plotting.figures import *  # noqa: F403
from vae_tutorial.plotting.figures import __all__, _styled  # noqa: F401
