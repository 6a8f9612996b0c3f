"""Request and response schemas, separate from the tables."""
