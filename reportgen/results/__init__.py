"""Stored run results: the JSON store, its schema and the compact encoding of large arrays."""
