"""Admission rules for the App: a single App named `app`, whose spec.namespace
defaults to `default` and never changes, created with the cleanup finalizer.

Called by the dispatcher in `rdd.admission.webhooks`.
"""

from __future__ import annotations

from typing import Any

from rdd.admission.ownership import owned_delete_problems
from rdd.admission.reviews import written
from rdd.api.app.v1alpha1 import app_pb2
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import APP_NAME, CLEANUP_FINALIZER, DEFAULT_NAMESPACE, dns1123_label_error
from rdd.store.registry import Review


def defaulted_app(review: Review) -> Any:
    """The App to write: spec.namespace filled in, the cleanup finalizer added on
    CREATE. Returns a copy; status and ownership writes pass unchanged. Pure.

    proto3 cannot tell an omitted namespace from an empty one, so an UPDATE
    that leaves it empty keeps the stored value instead of resetting it.
    """
    if review.obj is None or review.subresource:
        return review.obj
    app = app_pb2.App()
    app.CopyFrom(review.obj)
    if not app.spec.namespace:
        stored = review.old.spec.namespace if review.old is not None else ""
        app.spec.namespace = stored or DEFAULT_NAMESPACE
    if review.operation == "CREATE":
        add_finalizer(app, CLEANUP_FINALIZER)
    return app


def app_problems(review: Review) -> list[str]:
    """Why this App write is refused, or nothing. Pure."""
    if review.operation == "DELETE":
        return owned_delete_problems(review.old)
    if review.subresource:
        return []
    app = written(review)
    found: list[str] = []
    if app.metadata.name != APP_NAME:
        found.append(f"App resource must be named '{APP_NAME}'; got \"{app.metadata.name}\"")
    namespace = app.spec.namespace
    invalid = dns1123_label_error(namespace) if namespace else None
    if not namespace:
        found.append("spec.namespace: Required value")
    elif invalid:
        found.append(f'spec.namespace: Invalid value: "{namespace}": {invalid}')
    stored = review.old.spec.namespace if review.old is not None else ""
    if review.operation == "UPDATE" and stored and namespace != stored:
        found.append(f'spec.namespace is immutable: was "{stored}", got "{namespace}"')
    return found
