"""Pure helpers over object metadata: names, finalizers, owners, conditions.

They change objects in memory only; the one call that writes is elsewhere.
"""
