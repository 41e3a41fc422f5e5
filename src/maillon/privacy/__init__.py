"""Data-subject rights and sharing: subject access export, erasure, pseudonymised extracts."""
