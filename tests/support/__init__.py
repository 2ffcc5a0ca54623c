"""What the tests share: waiting on a condition (waiting), finding a
test's processes (processes), a real stack and clients to it (stack, with
its pytest fixtures in fixtures), the `rdd` command line as a subprocess
(cli), and object builders (objects).

Test modules import from here, never from one another."""
