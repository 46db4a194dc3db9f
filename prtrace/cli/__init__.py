"""The prtrace command line."""
