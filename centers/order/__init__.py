"""Order center (订单中心): trade orders and lines; orchestrates order placement."""
