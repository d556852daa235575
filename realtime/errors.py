"""The package's exceptions.

`UserError` and its subclasses are mistakes a runner or therapist can fix (a missing
file, a camera that will not open, a bad config value); the CLI prints them as one line
and exits non-zero.  Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or machine, explained in one line."""


class ConfigError(UserError):
    """A config file or override has an unknown key or an out-of-range value."""


class SourceError(UserError):
    """A camera or video file cannot be opened or read."""


class PoseStreamError(UserError):
    """A pose-stream file is missing arrays or has arrays of the wrong shape or type."""


# Exit codes of `realtime run` (README, "Exit codes"): 0 done; 1 the session ended early
# (a camera failed); 2 a user error before the session began; 3 the session ran to its
# end but part of its recording could not be written (a full disk or store): free space,
# then `realtime recover DIR`; 130 interrupted.
EXIT_INCOMPLETE = 3
