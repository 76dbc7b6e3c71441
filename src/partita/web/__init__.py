"""The web console and its JSON API (arrives with the console issue)."""
