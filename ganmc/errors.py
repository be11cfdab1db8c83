"""User-facing errors: one line that names the problem and the fix, never a traceback."""


class GanmcError(Exception):
    """A problem with the user's input (config, files, data) rather than a bug in ganmc."""


class CheckpointError(GanmcError):
    """A checkpoint is missing, corrupt or does not match the configured architecture."""
