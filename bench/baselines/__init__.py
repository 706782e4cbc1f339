"""Hand-written apps the generated service is measured against (see bench/README.md)."""
