"""Running the stack on this machine: free ports, a local etcd, the three
service processes, and the state folder (RDD_HOME) that records them.

Used by `rdd svc` and by the tests' fixtures; never by the services."""
