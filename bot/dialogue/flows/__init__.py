"""One module per flow of the conversation."""
