"""Admission rules: what every write to an App, LimaVM or ConfigMap is turned
into (mutate) and whether it may happen at all (validate).

The admission service calls `admit` (mutate, then validate) for each review
the resource services send it; the rules read other objects only through a
`Lookup`, so tests back them with a dict. `rdd.admission.limactl` asks the
installed Lima about templates.
"""

from rdd.admission.lookup import Lookup
from rdd.admission.webhooks import AdmissionDeniedError, admit, mutate, validate, webhook_name

__all__ = ["AdmissionDeniedError", "Lookup", "admit", "mutate", "validate", "webhook_name"]
