"""Controller runtime: informers (list + watch caches), a client-go style
work queue, the controller loop that interprets reconcile outcomes in one
place, and the Event recorder."""
