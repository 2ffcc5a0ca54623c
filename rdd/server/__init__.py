"""Service wiring: generic resource servicers, the admission client, status
mapping, and the one way every service process is started and stopped."""
