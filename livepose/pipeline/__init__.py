"""Threads and hand-offs of the live pipeline."""
