"""Well-known names (finalizers, labels, annotations) and name validation."""

from __future__ import annotations

import re
from collections.abc import Mapping

CLEANUP_FINALIZER = "rdd.rancherdesktop.io/cleanup"
OWNED_FINALIZER_PREFIX = "rdd.rancherdesktop.io/owned-by-"
TEMPLATE_LABEL = "lima.rancherdesktop.io/template-configmap"
RESTART_ANNOTATION = "lima.rancherdesktop.io/restartRequested"
TEMPLATE_KEY = "template"
APP_NAME = "app"
DEFAULT_NAMESPACE = "default"

#: Kubernetes' apimachinery validation patterns, always matched against the
#: whole string (`fullmatch`: `re.match` with `$` lets a trailing newline through).
_DNS1123_LABEL_PART = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL_PART}(\.{_DNS1123_LABEL_PART})*")
_DNS1123_LABEL = re.compile(_DNS1123_LABEL_PART)
_QUALIFIED_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

DNS1123_SUBDOMAIN_MAX = 253
DNS1123_LABEL_MAX = 63
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
#: Kubernetes' TotalAnnotationSizeLimitB: keys and values together.
ANNOTATIONS_MAX_BYTES = 256 * 1024

_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
    "characters or '-', and must start and end with an alphanumeric character"
)
_QUALIFIED_PART_MESSAGE = (
    "consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character"
)


def owned_finalizer(owner_kind: str) -> str:
    """`rdd.rancherdesktop.io/owned-by-App`: blocks deletion by anyone but the owner."""
    return f"{OWNED_FINALIZER_PREFIX}{owner_kind}"


def template_configmap_name(limavm_name: str) -> str:
    return f"{limavm_name}-template"


def dns1123_subdomain_error(name: str) -> str | None:
    """Kubernetes' message for an invalid object name, or None when it is valid."""
    if len(name) > DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        return _SUBDOMAIN_MESSAGE
    return None


def dns1123_label_error(name: str) -> str | None:
    """Kubernetes' message for an invalid namespace (an RFC 1123 label), or None."""
    if len(name) > DNS1123_LABEL_MAX:
        return f"must be no more than {DNS1123_LABEL_MAX} characters"
    if not _DNS1123_LABEL.fullmatch(name):
        return _LABEL_MESSAGE
    return None


def qualified_name_error(key: str) -> str | None:
    """Kubernetes' IsQualifiedName, for label and annotation keys: `name` or
    `prefix/name`, the prefix a DNS subdomain of at most 253 characters, the
    name at most 63 alphanumerics, '-', '_' or '.'. None when valid. Pure."""
    prefix, slash, name = key.rpartition("/")
    if slash and ("/" in prefix or not prefix):
        if not prefix:
            return "prefix part must be non-empty"
        return (
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
            "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        )
    if slash:
        problem = dns1123_subdomain_error(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"name part must be no more than {QUALIFIED_NAME_MAX} characters"
    if not _QUALIFIED_NAME_PART.fullmatch(name):
        return f"name part must {_QUALIFIED_PART_MESSAGE}"
    return None


def label_value_error(value: str) -> str | None:
    """Kubernetes' IsValidLabelValue: empty, or at most 63 alphanumerics, '-',
    '_' or '.' starting and ending with an alphanumeric. None when valid. Pure."""
    if len(value) > LABEL_VALUE_MAX:
        return f"must be no more than {LABEL_VALUE_MAX} characters"
    if not _LABEL_VALUE.fullmatch(value):
        return f"a valid label must be an empty string or {_QUALIFIED_PART_MESSAGE}"
    return None


def annotations_size(annotations: Mapping[str, str]) -> int:
    """Bytes the annotations take, as Kubernetes counts them (keys and values, UTF-8)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
