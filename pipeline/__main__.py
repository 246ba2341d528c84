"""`python -m pipeline ...`: the same CLI as the `budget-realloc` console script."""

from pipeline.cli import main

if __name__ == "__main__":
    main()
