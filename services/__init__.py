"""The three service processes: webhook (admission), limavm, app.

They never import one another; they share the `rdd` library and talk gRPC."""
