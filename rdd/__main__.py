"""`python -m rdd`: the `rdd` command."""

from rdd.cli.main import main

if __name__ == "__main__":
    main()
