"""`python -m kg.cli` = `kg`."""

from kg.cli import main

if __name__ == "__main__":  # a spawned worker (`kg ingest --jobs`) imports this module too; it must not run kg
    main()
