#!/usr/bin/env python3
"""Start the live app: the same as ``livepose live [ARGS...]``."""

import sys

from livepose.cli import main

if __name__ == "__main__":
    sys.exit(main(["live", *sys.argv[1:]]))
