"""Reference carrier / rider platform plugin (``carrier-rest``) and its emulator."""
