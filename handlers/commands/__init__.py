"""One module per slash command."""
