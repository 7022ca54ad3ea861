"""The conversation engine and its flows: what a chat turn means, whatever the channel."""
