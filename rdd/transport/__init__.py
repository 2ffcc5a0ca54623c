"""How processes of a stack reach one another, and who may: unix socket
paths, the per-RDD_HOME credentials (CA, certificates, tokens), the client
configuration file, and the one function that builds every gRPC channel.

Used by the store (its etcd channel), the services, the supervisor and the CLI."""
