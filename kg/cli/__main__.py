"""`python -m kg.cli` = `kg`."""

from kg.cli import main

if __name__ == "__main__":  # importing the module (as multiprocessing's spawn does) must not run kg
    main()
