"""The one exception type users see.

Every error that comes from bad input (a file, a value, a flag) is raised as
:class:`LivePoseError` with a single line that names the offending file or
value and says what was expected. The command line prints that line and exits
with status 2, never a traceback.
"""


class LivePoseError(Exception):
    """A user-facing error with a one-line, self-explanatory message."""

    def __init__(self, message: str) -> None:
        # Keep the message on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))
