"""Kubernetes API-server semantics over etcd.

`keys` lays out etcd keys, `rules` decides what a write becomes (pure),
`etcd` is the only module that talks to etcd, `registry` combines them into
create/get/list/update/update-status/delete/watch with admission hooks.
"""
