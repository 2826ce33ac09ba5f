"""Exceptions a qubesd answer turns into (stand-in; see ../README.md): the class is named by
qubesd, so callers that catch QubesException or a subclass see what they would in dom0."""


class QubesException(Exception):
    pass


class QubesVMNotFoundError(QubesException, KeyError):
    pass


class QubesNoSuchPropertyError(QubesException, AttributeError):
    pass


class QubesPropertyAccessError(QubesNoSuchPropertyError):
    pass


class QubesFeatureNotFoundError(QubesException, KeyError):
    pass


class QubesTagNotFoundError(QubesException, KeyError):
    pass


class QubesDaemonAccessError(QubesException):
    """PermissionDenied: qubesd (or the model) does not serve the call."""


def from_answer(kind, message):
    """The exception for qubesd's exception class name `kind`."""
    if kind == "PermissionDenied":
        return QubesDaemonAccessError(message or "Got empty response from qubesd")
    cls = globals().get(kind)
    if isinstance(cls, type) and issubclass(cls, QubesException):
        return cls(message)
    # An exception class this stand-in does not name: keep qubesd's name in the message.
    return QubesException(f"{kind}: {message}")
