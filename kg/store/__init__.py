"""The only code that talks to Neo4j. Handed a driver; never reads the environment."""
