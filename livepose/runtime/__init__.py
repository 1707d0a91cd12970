"""Runtime: checkpoints, export and inference backends."""
