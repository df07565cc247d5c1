"""Example plug-in (docs/add-a-method.md); registers its method on import."""
