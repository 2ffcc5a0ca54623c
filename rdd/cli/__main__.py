"""`python -m rdd.cli`: the same as the `rdd` console script."""

from rdd.cli.main import main

if __name__ == "__main__":
    main()
