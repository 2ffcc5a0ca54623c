"""The `rdd` command (console script `rdd = rdd.cli.main:main`).

`rdd svc` runs the stack (rdd.stack.supervisor), `rdd ctl` reads and writes
resources over gRPC like kubectl, `rdd set/start/stop` is the App shortcut,
`rdd limavm` runs LimaVMs directly (docs/limavm.md).
CLI.md is the contract for its outputs, error shapes and exit codes."""
