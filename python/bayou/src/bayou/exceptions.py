"""The errors a `Client` raises, named like bauplan's SDK so that scripts catch the same ones.

Every error is a `BauplanError` (also reachable as `BayouError`); its message is the text the
bayou CLI prints for the same problem, hint included.
"""

from __future__ import annotations


class BauplanError(Exception):
    """Anything the lake refused or could not do."""


BayouError = BauplanError


class InvalidArgumentError(BauplanError, ValueError):
    """An argument is malformed: a bad name, bad SQL, a bad filter."""


BadRequestError = InvalidArgumentError


class UnauthorizedError(BauplanError):
    """No API key, or one that is unknown or revoked."""


class ForbiddenError(BauplanError):
    """The caller may not do this (another user's job, a path on the server's machine)."""


class UnavailableError(BauplanError):
    """The server cannot be reached."""


class NotFoundError(BauplanError):
    """Something named does not exist."""


ResourceNotFoundError = NotFoundError


class RefNotFoundError(NotFoundError):
    """No branch, tag or commit of that name."""


class BranchNotFoundError(RefNotFoundError):
    """No branch of that name."""


class TagNotFoundError(RefNotFoundError):
    """No tag of that name."""


class TableNotFoundError(NotFoundError):
    """No table of that name at that ref."""


class NamespaceNotFoundError(NotFoundError):
    """No namespace of that name."""


class JobNotFoundError(NotFoundError):
    """No job (run) of that id."""


class AlreadyExistsError(BauplanError):
    """Something of that name exists already."""


class BranchExistsError(AlreadyExistsError):
    """A branch (or tag) of that name exists already."""


class TagExistsError(AlreadyExistsError):
    """A tag (or branch) of that name exists already."""


class NamespaceExistsError(AlreadyExistsError):
    """A namespace of that name exists already."""


class NotABranchError(InvalidArgumentError):
    """A write named a tag or a commit, which cannot change."""


class ConflictError(BauplanError):
    """Another writer changed the same tables first."""


class BranchHeadChangedError(ConflictError):
    """The branch moved while this write was made; retrying may succeed."""


class MergeConflictError(ConflictError):
    """Both sides of a merge changed the same tables in ways that cannot be combined."""


class ProjectError(BauplanError):
    """The project or its input has problems to fix (file and line are in the message)."""


class JobError(BauplanError):
    """A job could not be started or followed."""


# bauplan's names for the same errors.
UpdateConflictError = BranchHeadChangedError
NotABranchRefError = NotABranchError
InvalidDataError = ProjectError
BauplanJobError = JobError
