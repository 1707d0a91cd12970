"""``livepose bench``: speed of every inference path, side by side with the official inference path."""
