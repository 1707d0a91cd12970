"""Synthetic depth data: articulated hands and bodies seen by simulated depth cameras."""
