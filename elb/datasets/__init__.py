"""Dataset formats, pandera schemas, loaders, text formatting and dataset quality checks."""
