"""rdd: a small control plane that keeps a Lima VM in the state its user declares."""

#: The release, when no installed package metadata says otherwise (rdd.version).
__version__ = "0.1.0"
