"""Build time: the MkDocs hooks (loaded by path from mkdocs.yml; they import nothing from the package)."""
