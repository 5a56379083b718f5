"""Member center (会员中心): one member identity per phone across channels."""
