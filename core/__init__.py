"""Domain models, settings and errors shared by every part; imports nothing of ours."""
