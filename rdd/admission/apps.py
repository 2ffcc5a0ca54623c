"""Admission rules for the App: a single App named `app`, whose spec.namespace
defaults to `default` and never changes, created with the cleanup finalizer.

Listed in the dispatcher's table (`rdd.admission.webhooks`).
"""

from __future__ import annotations

from typing import Any

from rdd.admission.lookup import Lookup
from rdd.admission.reviews import KindRules
from rdd.api.app.v1alpha1 import app_pb2
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import APP_NAME, CLEANUP_FINALIZER, DEFAULT_NAMESPACE, dns1123_label_error


class AppRules(KindRules):
    def default(self, obj: Any, old: Any | None) -> Any:
        """spec.namespace filled in, the cleanup finalizer added on CREATE.

        proto3 cannot tell an omitted namespace from an empty one, so an UPDATE
        that leaves it empty keeps the stored value instead of resetting it.
        """
        app = app_pb2.App()
        app.CopyFrom(obj)
        if not app.spec.namespace:
            stored = old.spec.namespace if old is not None else ""
            app.spec.namespace = stored or DEFAULT_NAMESPACE
        if old is None:
            add_finalizer(app, CLEANUP_FINALIZER)
        return app

    async def validate_create(self, obj: Any, lookup: Lookup) -> list[str]:
        return app_problems(obj, None)

    async def validate_update(self, obj: Any, old: Any, lookup: Lookup) -> list[str]:
        return app_problems(obj, old)


def app_problems(app: Any, old: Any | None) -> list[str]:
    """Why writing `app` over `old` (None: a create) is refused, or nothing. Pure."""
    found: list[str] = []
    if app.metadata.name != APP_NAME:
        found.append(f"App resource must be named '{APP_NAME}'; got \"{app.metadata.name}\"")
    namespace = app.spec.namespace
    invalid = dns1123_label_error(namespace) if namespace else None
    if not namespace:
        found.append("spec.namespace: Required value")
    elif invalid:
        found.append(f'spec.namespace: Invalid value: "{namespace}": {invalid}')
    stored = old.spec.namespace if old is not None else ""
    if stored and namespace != stored:
        found.append(f'spec.namespace is immutable: was "{stored}", got "{namespace}"')
    return found
