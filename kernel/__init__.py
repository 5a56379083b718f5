"""What every center shares and no center owns."""
