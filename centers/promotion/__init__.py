"""Promotion center (促销中心): promotion activities on goods."""
