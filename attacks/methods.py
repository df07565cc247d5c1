"""Reference methods of this package, registered through the ``bench.methods`` entry point."""
