"""Authoring and planning helpers: starter dossiers, editor schemas, the milestone roadmap."""
