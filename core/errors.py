"""The one small tree of errors the fleet raises. Pages and the CLI show `str(error)` to the user."""

from __future__ import annotations


class FleetError(Exception):
    """Base of every error a user can cause; its message is written for that user."""


class RuleViolation(FleetError):
    """A write would break one of the fleet's rules."""


class WabaLimitReached(RuleViolation):
    """A workspace already has the maximum number of WhatsApp Business Accounts."""


class NumberLimitReached(RuleViolation):
    """A WhatsApp Business Account already has the maximum number of active sender numbers."""


class NumberAlreadyExists(RuleViolation):
    """The phone number is already known to the system (in whatever format it was typed)."""


class NumberAlreadyInActiveGroup(RuleViolation):
    """The phone number is already bound to an active subscription group."""


class PortfolioNotConnected(RuleViolation):
    """The business portfolio is not connected to the workspace."""


class DuplicateName(RuleViolation):
    """An object with this name or identifier already exists."""


class AlreadyArchived(RuleViolation):
    """The object is already archived."""


class NotFound(FleetError):
    """The object named does not exist."""


class PermissionDenied(FleetError):
    """The acting user's role does not allow this action."""


class EmailNotVerified(PermissionDenied):
    """The identity provider says the signed-in user's e-mail address is not verified."""


class InvalidInput(FleetError):
    """A value typed or imported is malformed; the message names the field."""


class InvalidPhoneNumber(InvalidInput):
    """A phone number cannot be parsed, is impossible, or is not valid for its region."""


class WriteConflict(FleetError):
    """Concurrent writes to the same rows kept aborting this one (deadlock or serialization failure)."""


class SchemaOutOfDate(FleetError):
    """The database's schema is older than this code and this process is not the one that migrates it."""
