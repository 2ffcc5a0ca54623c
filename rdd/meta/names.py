"""Well-known names (finalizers, labels, annotations) and name validation:
object names and namespaces (RFC 1123), label keys and values."""

from __future__ import annotations

import re

CLEANUP_FINALIZER = "rdd.rancherdesktop.io/cleanup"
OWNED_FINALIZER_PREFIX = "rdd.rancherdesktop.io/owned-by-"
TEMPLATE_LABEL = "lima.rancherdesktop.io/template-configmap"
RESTART_ANNOTATION = "lima.rancherdesktop.io/restartRequested"
TEMPLATE_KEY = "template"
APP_NAME = "app"
DEFAULT_NAMESPACE = "default"

_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def owned_finalizer(owner_kind: str) -> str:
    """`rdd.rancherdesktop.io/owned-by-App`: blocks deletion by anyone but the owner."""
    return f"{OWNED_FINALIZER_PREFIX}{owner_kind}"


def template_configmap_name(limavm_name: str) -> str:
    return f"{limavm_name}-template"


def dns1123_subdomain_error(name: str) -> str | None:
    """Kubernetes' message for an invalid object name, or None when it is valid."""
    if len(name) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    return None


def dns1123_label_error(name: str) -> str | None:
    """Kubernetes' message for an invalid namespace (an RFC 1123 label), or None."""
    if len(name) > 63:
        return "must be no more than 63 characters"
    if not _DNS1123_LABEL.match(name):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric "
            "characters or '-', and must start and end with an alphanumeric character"
        )
    return None


# -- labels (apimachinery's validation.IsQualifiedName / IsValidLabelValue) --------

_NAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_PART_RE = re.compile(_NAME_PART)
_NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    f"regex used for validation is '{_NAME_PART}')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '({_NAME_PART})?')"
)


def qualified_name_errors(key: str) -> list[str]:
    """Kubernetes' problems with a label (or annotation) key, `[prefix/]name`
    with a DNS subdomain prefix; [] when it is valid."""
    parts = key.split("/")
    if len(parts) > 2:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is "
            f"'{_NAME_PART}') with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    errors = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            problem = dns1123_subdomain_error(prefix)
            if problem:
                errors.append(f"prefix part {problem}")
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _NAME_PART_RE.fullmatch(name):
        errors.append(_NAME_PART_MESSAGE)
    return errors


def label_value_errors(value: str) -> list[str]:
    """Kubernetes' problems with a label value (empty is valid); [] when valid."""
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if value and not _NAME_PART_RE.fullmatch(value):
        errors.append(_LABEL_VALUE_MESSAGE)
    return errors
