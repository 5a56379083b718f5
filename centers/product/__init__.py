"""Product center (商品中心): products (SPU) and their SKUs with prices."""
