"""Hub and site sides of the federation link (arrives with the federation issue)."""
