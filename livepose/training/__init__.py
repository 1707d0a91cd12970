"""Training A2J: the loop, its data sources, augmentation and logs (``livepose train``)."""
