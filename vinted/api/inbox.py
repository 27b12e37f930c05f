"""The Vinted inbox API: conversations and their messages, replies."""
