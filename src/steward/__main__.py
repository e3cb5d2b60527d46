"""``python -m steward``: the same entry point as the ``steward`` script."""

from steward.cli import main

if __name__ == "__main__":
    main()
