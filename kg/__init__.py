"""kg: a knowledge graph of concepts and typed relations built from study notes."""

__version__ = "0.1.0"
