"""Admission rules: what every write to an App, LimaVM or ConfigMap is turned
into (mutate) and whether it may happen at all (validate).

The admission service calls `mutate` then `validate` for each review the
resource services send it; the rules read other objects only through a
`Lookup`, so tests back them with a dict.
"""

from rdd.admission.lookup import Lookup
from rdd.admission.webhooks import AdmissionDeniedError, mutate, validate, webhook_name

__all__ = ["AdmissionDeniedError", "Lookup", "mutate", "validate", "webhook_name"]
