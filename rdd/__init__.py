"""rdd: a small control plane that keeps a Lima VM in the state its user declares."""
