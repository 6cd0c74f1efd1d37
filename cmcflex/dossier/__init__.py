"""Loading a dossier folder into typed, located records."""
