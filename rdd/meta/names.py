"""Well-known names (finalizers, labels, annotations) and name validation."""

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
