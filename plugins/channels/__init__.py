"""``channel-takeout``: pulls orders from a takeout platform (外卖平台) into the order
center and syncs their status back."""
