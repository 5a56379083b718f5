"""Fulfillment center (履约): shipments, courier tracking and in-store pickup."""
