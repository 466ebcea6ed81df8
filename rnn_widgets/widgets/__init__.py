"""The widgets, one module per lecture idea, and their shared building blocks (common, charts)."""
