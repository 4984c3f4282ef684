"""Constants shared by the LiDAR processing backends (numpy and torch), so both give the same results."""

CELL_KEY_STRIDE = 2_000_003  # grid cell key = ix * stride + iy (unique for |iy| < stride / 2)
CLOSENESS_FLOOR = 0.05  # [m] distances to an edge below this count as on the edge (Zhang's d0)
