"""Batch experiments: files, designs, the result store, backends, analysis and discovery."""
