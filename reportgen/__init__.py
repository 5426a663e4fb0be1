"""reportgen: declarative MNIST studies → trained runs → JSON results → a MkDocs report site."""

__version__ = "0.1.0"
