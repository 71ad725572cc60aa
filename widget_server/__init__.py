"""Client Profile: an embeddable self-service portal for clients of activity providers."""

__version__ = "0.1.0"
