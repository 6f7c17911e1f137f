"""Plugin platform: discovery without import, manifest, states, dependencies, loading, hot swap."""
