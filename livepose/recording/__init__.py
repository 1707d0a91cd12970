"""Session files: recording to MCAP, reading back, exporting."""
