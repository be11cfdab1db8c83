"""User-facing errors: one line that names the problem and the fix, never a traceback."""


class GanmcError(Exception):
    """A problem with the user's input (config, files, data) rather than a bug in ganmc."""


class WriteError(GanmcError, OSError):
    """A file could not be written (full disk, size limit, permissions): one line naming it; still
    an OSError for callers that handle I/O failures as such."""


class CheckpointError(GanmcError):
    """A checkpoint is missing, corrupt or does not match the configured architecture."""


class SweepIncomplete(GanmcError):
    """A sweep whose jobs did not all leave a record: the message names each such job."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name when it has none): an error raised by
    the user's code (a net, a factory), said in one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
