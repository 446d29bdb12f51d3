"""Post-mortem drafts: a pure Markdown renderer over the recorded timeline, versioned storage, delivery."""
